"""The ``citizen_push`` outbox (see :mod:`hotline.storage.models.push`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.storage.models import CitizenPush, Conversation, Message


async def enqueue(session: AsyncSession, *, message: Message, conversation: Conversation) -> None:
    """Owe ``message`` (flushed, outbound) to the citizen of ``conversation``."""
    assert message.id is not None
    session.add(
        CitizenPush(
            message_id=message.id, channel=conversation.channel, address=conversation.address
        )
    )
    await session.flush()
