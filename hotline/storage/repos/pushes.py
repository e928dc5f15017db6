"""The ``citizen_push`` outbox (see :mod:`hotline.storage.models.push`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.storage.models import (
    CitizenPush,
    Conversation,
    HeldNotice,
    Message,
    PushStatus,
    Ticket,
)
from hotline.storage.types import utcnow


class PushState(StrEnum):
    """A row's status as staff read it: pending rows whose last attempt failed (and that will
    be tried again) are told apart from those not tried yet."""

    PENDING = "pending"
    FAILED = "failed"
    SENT = "sent"
    HELD = "held"
    DEAD = "dead"
    EXPIRED = "expired"


def _failed() -> ColumnElement[bool]:
    return and_(
        col(CitizenPush.status) == PushStatus.PENDING,
        col(CitizenPush.attempts) > 0,
        col(CitizenPush.last_error).is_not(None),
    )


def state_of(push: CitizenPush) -> PushState:
    """:class:`PushState` of one row; the same rule as :func:`_failed` in SQL."""
    if push.status == PushStatus.PENDING and push.attempts > 0 and push.last_error is not None:
        return PushState.FAILED
    return PushState(push.status)


@dataclass(frozen=True)
class PushFilter:
    state: PushState | None = None
    channel: str | None = None
    #: written at or after
    since: datetime | None = None
    limit: int = 50
    offset: int = 0


async def search(
    session: AsyncSession, *, where: PushFilter
) -> tuple[list[tuple[CitizenPush, Message, str | None]], int]:
    """Rows with their message and ticket number (if any), newest first, and the total."""
    statement = select(CitizenPush)
    if where.state == PushState.FAILED:
        statement = statement.where(_failed())
    elif where.state == PushState.PENDING:
        statement = statement.where(col(CitizenPush.status) == PushStatus.PENDING, ~_failed())
    elif where.state is not None:
        statement = statement.where(col(CitizenPush.status) == PushStatus(where.state))
    if where.channel is not None:
        statement = statement.where(col(CitizenPush.channel) == where.channel)
    if where.since is not None:
        statement = statement.where(col(CitizenPush.created_at) >= where.since)
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    page = (
        statement.add_columns(Message, col(Ticket.number))
        .join(Message, col(Message.id) == col(CitizenPush.message_id))
        .outerjoin(Ticket, col(Ticket.id) == col(Message.ticket_id))
        .order_by(col(CitizenPush.id).desc())
        .limit(where.limit)
        .offset(where.offset)
    )
    rows = [(push, message, number) for push, message, number in (await session.execute(page))]
    return rows, int(total)


async def counts(session: AsyncSession, *, since: datetime) -> dict[str, dict[PushState, int]]:
    """How many rows written since ``since`` are in each state, per channel."""
    state = case((_failed(), PushState.FAILED.value), else_=col(CitizenPush.status))
    # Grouped in an outer query: PostgreSQL would not match a GROUP BY on the CASE to the
    # selected CASE, each having its own bound parameters.
    rows = (
        select(col(CitizenPush.channel).label("channel"), state.label("state"))
        .where(col(CitizenPush.created_at) >= since)
        .subquery()
    )
    statement = select(rows.c.channel, rows.c.state, func.count()).group_by(
        rows.c.channel, rows.c.state
    )
    found: dict[str, dict[PushState, int]] = {}
    for channel, name, n in await session.execute(statement):
        found.setdefault(channel, dict.fromkeys(PushState, 0))[PushState(name)] = int(n)
    return found


async def copies(session: AsyncSession, *, pushes: Sequence[CitizenPush]) -> dict[int, CitizenPush]:
    """The rows of messages written again another way instead of these expired ``pushes``
    (meta ``instead_of``; see :mod:`hotline.channels.held`), by the expired row's id."""
    expired = {p.id: p for p in pushes if p.status == PushStatus.EXPIRED and p.id is not None}
    if not expired:
        return {}
    # Only a ticket's message is written again; its ticket narrows the search to an index.
    tickets = select(col(Message.ticket_id)).where(
        col(Message.id).in_([p.message_id for p in expired.values()])
    )
    statement = (
        select(CitizenPush, col(Message.meta))
        .join(Message, col(Message.id) == col(CitizenPush.message_id))
        .where(col(Message.ticket_id).in_(tickets.scalar_subquery()))
        .order_by(col(CitizenPush.id))
    )
    found: dict[int, CitizenPush] = {}
    for copy, meta in await session.execute(statement):
        if meta.get("instead_of") in expired:
            found.setdefault(meta["instead_of"], copy)
    return found


async def enqueue(session: AsyncSession, *, message: Message, conversation: Conversation) -> None:
    """Owe ``message`` (flushed, outbound) to the citizen of ``conversation``."""
    assert message.id is not None
    session.add(
        CitizenPush(
            message_id=message.id, channel=conversation.channel, address=conversation.address
        )
    )
    await session.flush()


async def release_held(session: AsyncSession, *, channel: str, address: str) -> int:
    """The citizen wrote again: what waited for their reply window is due now, unless it is out
    of date (the push worker expires it); a later hold tells them again. Returns how many."""
    now = utcnow()
    statement = (
        update(CitizenPush)
        .where(col(CitizenPush.status) == PushStatus.HELD)
        .where(col(CitizenPush.channel) == channel)
        .where(col(CitizenPush.address) == address)
        .where(col(CitizenPush.held_until) > now)
        .values(status=PushStatus.PENDING, next_attempt_at=now, attempts=0, held_until=None)
    )
    result = await session.execute(statement)
    told = delete(HeldNotice).where(
        col(HeldNotice.channel) == channel, col(HeldNotice.address) == address
    )
    await session.execute(told)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def expire_held(
    session: AsyncSession, *, channels: Collection[str], now: datetime, limit: int, why: str
) -> list[CitizenPush]:
    """End up to ``limit`` rows of ``channels`` held past their ``held_until``; returns them.

    On PostgreSQL the rows are locked and others' locked rows skipped, so two workers never
    expire the same row (and never both act on it).
    """
    due = (
        select(col(CitizenPush.id))
        .where(col(CitizenPush.status) == PushStatus.HELD)
        .where(col(CitizenPush.channel).in_(list(channels)))
        .where(col(CitizenPush.held_until) <= now)
        .order_by(col(CitizenPush.held_until), col(CitizenPush.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(CitizenPush)
        .where(col(CitizenPush.id).in_(due.scalar_subquery()))
        .where(col(CitizenPush.status) == PushStatus.HELD)
        .values(status=PushStatus.EXPIRED, last_error=why[:500])
        .returning(CitizenPush)
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).scalars()
    return sorted(rows, key=lambda row: row.id or 0)


async def claim_notice(
    session: AsyncSession, *, channel: str, address: str, good_for: timedelta
) -> bool:
    """Whether this caller is the one to tell the citizen that messages wait for them.

    One upsert decides: it adds the citizen's row, or takes it over once the last notice is
    older than ``good_for`` (what it announced is out of date by then). On PostgreSQL a second
    worker's upsert waits for the first one's transaction and then finds the notice fresh, so
    only one of two workers holding messages for the same citizen at once tells them.
    """
    now = utcnow()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(HeldNotice)
        .values(channel=channel, address=address, told_at=now)
        .on_conflict_do_update(
            index_elements=["channel", "address"],
            set_={"told_at": now},
            where=col(HeldNotice.told_at) <= now - good_for,
        )
        .returning(col(HeldNotice.told_at))
    )
    return (await session.execute(statement)).first() is not None


async def withdraw(session: AsyncSession, *, author: str, ticket_id: int, why: str) -> int:
    """Messages by ``author`` about ``ticket_id`` not delivered yet (pending, or held for the
    citizen's reply window) are not sent any more; returns how many."""
    written = select(col(Message.id)).where(
        col(Message.author) == author, col(Message.ticket_id) == ticket_id
    )
    statement = (
        update(CitizenPush)
        .where(col(CitizenPush.status).in_([PushStatus.PENDING, PushStatus.HELD]))
        .where(col(CitizenPush.message_id).in_(written))
        .values(status=PushStatus.DEAD, last_error=why[:500])
    )
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
