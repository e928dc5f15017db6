"""Tickets, their numbering, history and classification feedback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from hotline.errors import NotFound
from hotline.storage.models import (
    ClassificationFeedback,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
from hotline.storage.types import utcnow


async def next_number(
    session: AsyncSession,
    *,
    now: datetime,
    timezone: str,
    digits: int,
    counters: AsyncEngine | None = None,
) -> str:
    """The next ticket number, ``<yyyymmdd><sequence>``, unique across processes.

    One upsert increments the day's counter and returns the new value. Its row lock makes
    concurrent writers take turns until the transaction that took it ends; with ``counters``
    (:attr:`hotline.storage.db.Database.counters`, PostgreSQL) the upsert commits in a
    transaction of its own, so that turn lasts one statement instead of a whole intake, where
    every ticket in the city would wait for the classifier, routing and the commit of the one
    before it. A number taken by an intake that then fails is not reused: like a sequence's,
    the numbers can skip, never repeat.
    """
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(TicketCounter)
        .values(day=day, last_value=1)
        .on_conflict_do_update(
            index_elements=["day"], set_={"last_value": col(TicketCounter.last_value) + 1}
        )
        .returning(col(TicketCounter.last_value))
    )
    if counters is None:
        value = (await session.execute(statement)).scalar_one()
    else:
        async with counters.begin() as connection:
            value = (await connection.execute(statement)).scalar_one()
    return f"{day}{value:0{digits}d}"


async def add(
    session: AsyncSession, ticket: Ticket, *, actor: str, note: str | None = None
) -> Ticket:
    """Store a new ticket and the first line of its history."""
    session.add(ticket)
    await session.flush()
    await record(
        session, ticket=ticket, actor=actor, action="created", to_value=ticket.status, note=note
    )
    return ticket


async def record(
    session: AsyncSession,
    *,
    ticket: Ticket,
    actor: str,
    action: str,
    from_value: str | None = None,
    to_value: str | None = None,
    note: str | None = None,
) -> TicketEvent:
    """Append one line to the ticket's history."""
    event = TicketEvent(
        ticket_id=_id(ticket),
        actor=actor,
        action=action,
        from_value=from_value,
        to_value=to_value,
        note=note,
    )
    session.add(event)
    await session.flush()
    return event


async def by_number(session: AsyncSession, *, number: str) -> Ticket:
    """The ticket with this number, or :class:`NotFound`."""
    result = await session.execute(select(Ticket).where(Ticket.number == number))
    ticket = result.scalars().first()
    if ticket is None:
        raise NotFound(f"ticket {number} does not exist")
    return ticket


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    #: any of these statuses (used when ``status`` is None)
    statuses: tuple[TicketStatus, ...] = ()
    unit_id: int | None = None
    citizen_id: int | None = None
    #: only tickets flagged as emergencies (letters and forms that read like one)
    emergency_only: bool = False
    limit: int = 50
    offset: int = 0
    newest_first: bool = False


async def search(session: AsyncSession, *, where: TicketFilter) -> tuple[list[Ticket], int]:
    """Tickets matching ``where``, oldest first (the triage queue order), and the total count."""
    statement = select(Ticket)
    if where.status is not None:
        statement = statement.where(Ticket.status == where.status)
    elif where.statuses:
        statement = statement.where(col(Ticket.status).in_(where.statuses))
    if where.unit_id is not None:
        statement = statement.where(Ticket.unit_id == where.unit_id)
    if where.citizen_id is not None:
        statement = statement.where(Ticket.citizen_id == where.citizen_id)
    if where.emergency_only:
        statement = statement.where(col(Ticket.emergency).is_not(None))
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    order = (
        (col(Ticket.created_at).desc(), col(Ticket.id).desc())
        if where.newest_first
        else (col(Ticket.created_at), col(Ticket.id))
    )
    page = statement.order_by(*order).limit(where.limit).offset(where.offset)
    return list((await session.execute(page)).scalars()), int(total)


async def history(session: AsyncSession, *, ticket_id: int) -> list[TicketEvent]:
    statement = (
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
    )
    return list((await session.execute(statement)).scalars())


async def touch(session: AsyncSession, ticket: Ticket) -> None:
    """Persist changes made to ``ticket``."""
    ticket.updated_at = utcnow()
    session.add(ticket)
    await session.flush()


async def add_feedback(session: AsyncSession, feedback: ClassificationFeedback) -> None:
    session.add(feedback)
    await session.flush()


async def feedback_since(
    session: AsyncSession, *, since: datetime | None = None
) -> Sequence[ClassificationFeedback]:
    """Agents' classifications, newest last, for retraining."""
    statement = select(ClassificationFeedback).order_by(col(ClassificationFeedback.id))
    if since is not None:
        statement = statement.where(col(ClassificationFeedback.created_at) >= since)
    return list((await session.execute(statement)).scalars())


def _id(ticket: Ticket) -> int:
    if ticket.id is None:
        raise RuntimeError("ticket has no id before flush")
    return ticket.id
