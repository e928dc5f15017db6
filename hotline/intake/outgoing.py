"""Writing to a citizen outside their own request: agents' replies, results, callbacks.

The message is stored in the caller's transaction, with its push (``citizen_push``) on
channels that push (WeChat, Telegram, SMS…); :meth:`Outgoing.announce` wakes this process's
WebSocket waiters once that transaction has committed (other processes' waiters poll).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.hub import ReplyHub
from hotline.observability import Metrics
from hotline.storage.models import Direction, Message
from hotline.storage.repos import conversations, pushes


class Outgoing:
    def __init__(
        self,
        *,
        push_channels: frozenset[str],
        metrics: Metrics | None = None,
        hub: ReplyHub | None = None,
    ) -> None:
        self.push_channels = push_channels
        self._metrics = metrics
        self._hub = hub

    async def write_to_citizen(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        text: str,
        author: str,
        ticket_id: int | None = None,
        notice: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Message:
        """Store a message to the citizen inside the caller's transaction, with ``meta`` (a
        callback question's rating link reference) and ``notice``, what kind it is
        (``RESULT_NOTICE``: a resolution), kept in the message's ``meta``.

        Call :meth:`announce` with it once that transaction has committed, so a channel never
        pushes a message that could still be rolled back.
        """
        conversation = await conversations.get(session, conversation_id=conversation_id)
        message = await conversations.add_message(
            session,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            text=text,
            author=author,
            ticket_id=ticket_id,
        )
        extra = {**(meta or {}), **({"notice": notice} if notice is not None else {})}
        if extra:
            message.meta = extra
            session.add(message)
        if conversation.channel in self.push_channels:
            await pushes.enqueue(session, message=message, conversation=conversation)
        return message

    def announce(self, messages: list[Message]) -> None:
        """Count committed outbound messages and wake the channels that push them."""
        for message in messages:
            if self._metrics:
                self._metrics.messages.labels(message.channel, "out").inc()
            if self._hub:
                self._hub.notify(message.conversation_id)
