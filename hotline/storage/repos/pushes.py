"""The ``citizen_push`` outbox (see :mod:`hotline.storage.models.push`)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.storage.models import CitizenPush, Conversation, Message, PushStatus
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
    """The citizen wrote again: what waited for their reply window is due now; returns how many."""
    statement = (
        update(CitizenPush)
        .where(col(CitizenPush.status) == PushStatus.HELD)
        .where(col(CitizenPush.channel) == channel)
        .where(col(CitizenPush.address) == address)
        .values(status=PushStatus.PENDING, next_attempt_at=utcnow(), attempts=0)
    )
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
