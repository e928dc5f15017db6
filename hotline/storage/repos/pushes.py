"""The ``citizen_push`` outbox (see :mod:`hotline.storage.models.push`)."""

from __future__ import annotations

from sqlalchemy import update
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
