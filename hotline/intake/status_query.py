"""Answering "where is my ticket" in a conversation, with or without its number."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.errors import NotFound
from hotline.intake import duplicates, records
from hotline.intake.status import not_found_sentence, status_sentence
from hotline.storage.models import Citizen, Ticket
from hotline.storage.repos import tickets as ticket_repo

NONE_FOUND = "没有查询到您名下的工单。如需查询其他渠道登记的工单，请提供工单编号。"


async def answer(
    session: AsyncSession, citizen: Citizen, number: str | None, *, timezone: str
) -> str:
    """The ticket ``number`` if it is the citizen's own, else their three latest tickets."""
    if number is None:
        return await _recent(session, citizen, timezone)
    try:
        ticket = await ticket_repo.by_number(session, number=number)
    except NotFound:
        return not_found_sentence(number)
    if ticket.citizen_id != citizen.id:
        return not_found_sentence(number)  # never confirm someone else's ticket exists
    return await _sentence(session, ticket, timezone)


async def _recent(session: AsyncSession, citizen: Citizen, timezone: str) -> str:
    where = ticket_repo.TicketFilter(
        citizen_id=records.citizen_id(citizen), limit=3, newest_first=True
    )
    recent, total = await ticket_repo.search(session, where=where)
    if not recent:
        return NONE_FOUND
    lines = [await _sentence(session, t, timezone) for t in recent]
    more = f"（共 {total} 件，仅显示最近 3 件）" if total > len(recent) else ""
    return "您名下最近的工单：" + more + "\n" + "\n".join(lines)


async def _sentence(session: AsyncSession, ticket: Ticket, timezone: str) -> str:
    original = await duplicates.original_of(session, ticket)
    return status_sentence(ticket, timezone=timezone, original=original)
