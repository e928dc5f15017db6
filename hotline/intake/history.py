"""A citizen's history across channels, for the agent who talks to them.

Identities are merged only where a channel vouches for the address (a caller's number, an SMS
sender, a WeChat openid): a phone number typed into a chat or a form proves nothing, so it never
joins two citizens (:func:`hotline.storage.repos.citizens.add_contact`). Agents are trusted staff
who can call the number back, so their view also lists the tickets that give one of the
citizen's phone numbers as contact, marked as such: the caller's earlier letters and chats are
at hand without any citizen being able to read another's tickets. Every phone is stored in
one form (E.164, :mod:`hotline.phones`), so a number is looked up as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from hotline.errors import NotFound
from hotline.storage.models import (
    Citizen,
    ContactKind,
    ContactPoint,
    Conversation,
    SatisfactionCallback,
    Ticket,
)


@dataclass(frozen=True)
class History:
    citizen: Citizen
    contacts: list[ContactPoint]
    #: the citizen's own tickets, newest first
    tickets: list[Ticket]
    total_tickets: int
    #: other records' tickets naming one of the citizen's phones as contact
    same_phone: list[Ticket]
    conversations: list[Conversation]
    ratings: Counter[str] = field(default_factory=Counter)


async def history(session: AsyncSession, citizen_id: int, *, limit: int = 20) -> History:
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound(f"citizen {citizen_id} does not exist")
    contacts = list(
        (
            await session.execute(
                select(ContactPoint)
                .where(ContactPoint.citizen_id == citizen_id)
                .order_by(col(ContactPoint.id))
            )
        ).scalars()
    )
    own = select(Ticket).where(Ticket.citizen_id == citizen_id)
    total = (await session.execute(select(func.count()).select_from(own.subquery()))).scalar_one()
    tickets = await _newest(session, own, limit)
    phones = [c.value for c in contacts if c.kind == ContactKind.PHONE]
    same_phone: list[Ticket] = []
    if phones:
        others = select(Ticket).where(
            col(Ticket.contact_phone).in_(phones), Ticket.citizen_id != citizen_id
        )
        same_phone = await _newest(session, others, limit)
    conversations = list(
        (
            await session.execute(
                select(Conversation)
                .where(Conversation.citizen_id == citizen_id)
                .order_by(col(Conversation.updated_at).desc())
                .limit(limit)
            )
        ).scalars()
    )
    return History(
        citizen, contacts, tickets, int(total), same_phone, conversations,
        await _ratings(session, citizen_id),
    )  # fmt: skip


async def citizens_with_phone(session: AsyncSession, phone: str) -> list[int]:
    """Citizens who own this number (canonical) as a contact point (a channel vouched for it)."""
    statement = (
        select(ContactPoint.citizen_id)
        .where(
            ContactPoint.kind == ContactKind.PHONE,
            ContactPoint.value == phone,
            col(ContactPoint.verified),
        )
        .distinct()
    )
    return [int(i) for i in (await session.execute(statement)).scalars()]


async def tickets_with_phone(session: AsyncSession, phone: str, *, limit: int = 20) -> list[Ticket]:
    """The tickets that give this number (canonical) as their contact phone."""
    statement = select(Ticket).where(Ticket.contact_phone == phone)
    return await _newest(session, statement, limit)


async def _newest(
    session: AsyncSession, statement: SelectOfScalar[Ticket], limit: int
) -> list[Ticket]:
    ordered = statement.order_by(col(Ticket.created_at).desc()).limit(limit)
    return list((await session.execute(ordered)).scalars())


async def _ratings(session: AsyncSession, citizen_id: int) -> Counter[str]:
    statement = (
        select(SatisfactionCallback.rating, func.count())
        .join(Ticket, col(Ticket.id) == col(SatisfactionCallback.ticket_id))
        .where(Ticket.citizen_id == citizen_id)
        .where(col(SatisfactionCallback.rating).is_not(None))
        .group_by(col(SatisfactionCallback.rating))
    )
    return Counter({str(r): int(n) for r, n in (await session.execute(statement)).all()})
