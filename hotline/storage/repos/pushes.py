"""The ``citizen_push`` outbox (see :mod:`hotline.storage.models.push`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.storage.models import CitizenPush, Conversation, HeldNotice, Message, PushStatus
from hotline.storage.types import utcnow


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
