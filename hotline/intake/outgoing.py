"""Writing to a citizen outside their own request: agents' replies, results, callbacks.

The message is stored in the caller's transaction, with its push (``citizen_push``) on
channels that push (WeChat, Telegram, SMS…); :meth:`Outgoing.announce` wakes this process's
WebSocket waiters once that transaction has committed (other processes' waiters poll).

A result (办结) written to a conversation that cannot bring it to the citizen later (a letter,
an Open311 form, a call without SMS) is also mailed, when the e-mail channel runs, to the
address given with the request, else the citizen's own
(:func:`hotline.storage.repos.citizens.reply_contact`): the address on a letter is answered
even when another citizen owns it, as a satisfaction callback is asked there. Without an
address to mail, it goes by SMS to the request's phone the same way, when SMS is sent and the
phone is a mobile.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.hub import ReplyHub
from hotline.intake.ticket_actions import RESULT_NOTICE, CitizenNotice
from hotline.nlu.masking import mask_address
from hotline.observability import Metrics
from hotline.phones import DEFAULT_COUNTRY, is_mobile
from hotline.storage.models import ContactKind, Direction, Message
from hotline.storage.repos import citizens, conversations, pushes
from hotline.storage.repos import tickets as ticket_repo

log = logging.getLogger(__name__)

MAIL_CHANNEL = "email"
SMS_CHANNEL = "sms"
#: channels whose citizens read later messages without a push (the app fetches them)
READ_CHANNELS = frozenset({"app"})


class Outgoing:
    def __init__(
        self,
        *,
        push_channels: frozenset[str],
        metrics: Metrics | None = None,
        hub: ReplyHub | None = None,
        country_code: str = DEFAULT_COUNTRY,
    ) -> None:
        self.push_channels = push_channels
        self._metrics = metrics
        self._hub = hub
        self._country = country_code

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

    async def write_result(
        self, session: AsyncSession, result: CitizenNotice, *, author: str
    ) -> list[Message]:
        """Store a resolution in its ticket's conversation and, when that conversation cannot
        deliver it, a copy by mail, else by SMS (see the module's docstring); the
        conversation's message comes first. Announce them all once the transaction has
        committed."""
        ticket = result.ticket
        written = await self.write_to_citizen(
            session,
            conversation_id=result.conversation_id,
            text=result.text,
            author=author,
            ticket_id=ticket.id,
            notice=RESULT_NOTICE,
        )
        if self.delivers(written.channel):
            return [written]
        way = await self._other_way(session, result)
        if way is None:
            return [written]
        # A thread of its own, under the ticket's citizen: never the address owner's thread.
        thread = await conversations.start(
            session, citizen_id=ticket.citizen_id, channel=way.channel, address=way.address
        )
        copy = await self.write_to_citizen(
            session, conversation_id=thread.id, text=result.text, author=author,
            ticket_id=ticket.id, notice=RESULT_NOTICE, meta={"copy_of": written.id},
        )  # fmt: skip
        await ticket_repo.record(
            session, ticket=ticket, actor="system", action=way.action,
            from_value=written.channel, to_value=way.channel,
            note=f"办理结果另经{way.name}发送（{mask_address(way.address)}）",
        )  # fmt: skip
        log.info("outgoing.%s ticket=%s from=%s", way.action, ticket.number, written.channel)
        return [written, copy]

    async def _other_way(self, session: AsyncSession, result: CitizenNotice) -> _Way | None:
        """Mail to the request's (else the citizen's) address, else SMS to its mobile."""
        ticket = result.ticket
        if MAIL_CHANNEL in self.push_channels:
            address = await citizens.reply_contact(session, ticket=ticket, kind=ContactKind.EMAIL)
            if address is not None:
                return _Way(MAIL_CHANNEL, address, "result_mailed", "邮件")
        if SMS_CHANNEL in self.push_channels:
            phone = await citizens.reply_contact(session, ticket=ticket, kind=ContactKind.PHONE)
            if phone is not None and is_mobile(phone, self._country):
                return _Way(SMS_CHANNEL, phone, "result_texted", "短信")
        return None

    def delivers(self, channel: str) -> bool:
        """Whether a message written later to a conversation on ``channel`` reaches the
        citizen: pushed through the channel, or read in the app."""
        return channel in self.push_channels or channel in READ_CHANNELS

    def announce(self, messages: list[Message]) -> None:
        """Count committed outbound messages and wake the channels that push them."""
        for message in messages:
            if self._metrics:
                self._metrics.messages.labels(message.channel, "out").inc()
            if self._hub:
                self._hub.notify(message.conversation_id)


@dataclass(frozen=True)
class _Way:
    """Another way to bring a result: the channel, the address, the history action, and
    how agents read the channel's name."""

    channel: str
    address: str
    action: str
    name: str
