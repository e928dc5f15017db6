"""Conversations and their messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import NotFound
from hotline.storage.models import Conversation, Direction, Message
from hotline.storage.types import utcnow


async def get(session: AsyncSession, *, conversation_id: str) -> Conversation:
    """The conversation, or :class:`NotFound`."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


async def current(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    idle_after: timedelta,
    citizen_id: int | None = None,
) -> Conversation | None:
    """The citizen's conversation on this channel if it was active within ``idle_after``;
    with ``citizen_id``, only one of that citizen's."""
    statement = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.address == address)
        .where(col(Conversation.updated_at) >= utcnow() - idle_after)
        .order_by(col(Conversation.updated_at).desc())
    )
    if citizen_id is not None:
        statement = statement.where(Conversation.citizen_id == citizen_id)
    return (await session.execute(statement)).scalars().first()


async def start(
    session: AsyncSession, *, citizen_id: int, channel: str, address: str
) -> Conversation:
    conversation = Conversation(citizen_id=citizen_id, channel=channel, address=address)
    session.add(conversation)
    await session.flush()
    return conversation


async def find_inbound(session: AsyncSession, *, channel: str, external_id: str) -> Message | None:
    """The message a channel already delivered under ``external_id``."""
    statement = select(Message).where(
        Message.channel == channel, Message.external_id == external_id
    )
    return (await session.execute(statement)).scalars().first()


async def add_message(
    session: AsyncSession,
    *,
    conversation: Conversation,
    direction: Direction,
    text: str,
    author: str,
    external_id: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    reply_to_id: int | None = None,
    ticket_id: int | None = None,
) -> Message:
    message = Message(
        conversation_id=conversation.id,
        channel=conversation.channel,
        direction=direction,
        external_id=external_id,
        text=text,
        attachments=list(attachments),
        author=author,
        reply_to_id=reply_to_id,
        ticket_id=ticket_id,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    session.add(conversation)
    await session.flush()
    return message


async def replies_to(session: AsyncSession, *, message_id: int) -> list[Message]:
    """The outbound replies produced for an inbound message, in order."""
    statement = select(Message).where(Message.reply_to_id == message_id).order_by(col(Message.id))
    return list((await session.execute(statement)).scalars())


async def messages(
    session: AsyncSession,
    *,
    conversation_id: str,
    after_id: int = 0,
    direction: Direction | None = None,
    limit: int = 500,
) -> list[Message]:
    """Messages of a conversation in order, optionally only those after ``after_id``."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation_id, col(Message.id) > after_id)
        .order_by(col(Message.id))
        .limit(limit)
    )
    if direction is not None:
        statement = statement.where(Message.direction == direction)
    return list((await session.execute(statement)).scalars())


async def save(
    session: AsyncSession, conversation: Conversation, *, at: datetime | None = None
) -> None:
    """Persist state or draft changes made to ``conversation``."""
    conversation.updated_at = at or utcnow()
    session.add(conversation)
    await session.flush()
