"""Persistence steps of the intake: who wrote, in which conversation, what was said back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake.messages import InboundMessage, IntakeResult, OutboundReply, TicketRef
from hotline.phones import canonical_or_none, readable
from hotline.storage.models import Citizen, ContactKind, Conversation, Direction, Message, Ticket
from hotline.storage.repos import citizens, conversations, pushes

CHANNEL_CONTACT_KINDS = {
    "app": ContactKind.APP,
    "letter": ContactKind.PHONE,
    "phone": ContactKind.PHONE,  # Twilio's caller id
    "sms": ContactKind.PHONE,
    "wechat": ContactKind.WECHAT,
    "telegram": ContactKind.TELEGRAM,
    "email": ContactKind.EMAIL,
    "cli": ContactKind.APP,
}


def with_canonical_phones(message: InboundMessage, country_code: str) -> InboundMessage:
    """``message`` with its phones as they are stored (E.164, :mod:`hotline.phones`): the
    contact phone, and the sender on channels whose address is a phone; raises InvalidPhone
    (422) for a contact phone that is no telephone number, before anything is stored. A
    channel's own address that is none (a withheld caller id, "anonymous") stays as it is."""
    phone_channel = CHANNEL_CONTACT_KINDS.get(message.channel) == ContactKind.PHONE
    sender = readable(message.sender, country_code) if phone_channel else None
    return replace(
        message,
        sender=sender or message.sender,
        contact_phone=canonical_or_none(message.contact_phone, country_code),
    )


async def identify(session: AsyncSession, message: InboundMessage) -> Citizen:
    """The citizen behind the channel address, which the channel proved (a caller's number,
    an openid: :func:`citizens.identify`); a phone or e-mail address they gave is attached
    unverified, an address to answer at, unless someone has it (:func:`citizens.add_contact`).

    A sender nobody verified (a letter's phone without its code) is a new citizen every time,
    never the address's owner, and the unproven address (the channel's own kind) is not
    attached to them; the other address given (a letter's e-mail) is, as always.
    """
    kind = CHANNEL_CONTACT_KINDS.get(message.channel, ContactKind.APP)
    if message.sender_verified:
        citizen = await citizens.identify(
            session, kind=kind, value=message.sender, name=message.contact_name
        )
    else:
        citizen = await citizens.create(session, name=message.contact_name)
    known = ((ContactKind.PHONE, message.contact_phone), (ContactKind.EMAIL, message.contact_email))
    for contact_kind, value in known:
        if value and kind != contact_kind:
            await citizens.add_contact(
                session, citizen_id=citizen_id(citizen), kind=contact_kind, value=value
            )
    return citizen


async def conversation_for(
    session: AsyncSession, citizen: Citizen, message: InboundMessage, *, idle_after: timedelta
) -> Conversation:
    """The citizen's active conversation on this channel, or a new one.

    Only one of their own: a thread the hotline opened at this address about another citizen's
    ticket (a request that gave this citizen's phone) is never where their messages go.
    """
    conversation = await conversations.current(
        session,
        channel=message.channel,
        address=message.sender,
        idle_after=idle_after,
        citizen_id=citizen_id(citizen),
    )
    if conversation is not None:
        return conversation
    return await conversations.start(
        session, citizen_id=citizen_id(citizen), channel=message.channel, address=message.sender
    )


async def store_inbound(
    session: AsyncSession, conversation: Conversation, message: InboundMessage
) -> Message:
    """Store what the citizen wrote; it reopens their channel for messages held back."""
    await pushes.release_held(session, channel=message.channel, address=message.sender)
    return await conversations.add_message(
        session,
        conversation=conversation,
        direction=Direction.INBOUND,
        text=message.text,
        author="citizen",
        external_id=message.external_id,
        attachments=[a.to_dict() for a in message.attachments],
    )


async def store_replies(
    session: AsyncSession,
    conversation: Conversation,
    inbound: Message,
    replies: list[OutboundReply],
    ticket: Ticket | None,
    *,
    push: bool = False,
) -> None:
    """Store the replies to ``inbound``; with ``push``, each is also owed to the outbox."""
    for reply in replies:
        stored = await conversations.add_message(
            session,
            conversation=conversation,
            direction=Direction.OUTBOUND,
            text=reply.text,
            author="bot",
            reply_to_id=inbound.id,
            ticket_id=ticket.id if ticket else None,
        )
        stored.meta = {k: v for k, v in reply.to_dict().items() if k != "text"}
        session.add(stored)
        if push:
            await pushes.enqueue(session, message=stored, conversation=conversation)
    await session.flush()


async def replayed(session: AsyncSession, inbound: Message) -> IntakeResult:
    stored = await conversations.replies_to(session, message_id=message_id(inbound))
    replies = [_reply_from(m.text, m.meta) for m in stored]
    ticket_id = next((m.ticket_id for m in stored if m.ticket_id is not None), None)
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None else None
    ref = TicketRef(ticket.number, ticket.status) if ticket else None
    return IntakeResult(
        inbound.conversation_id, message_id(inbound), tuple(replies), ref, repeated=True
    )


def _reply_from(text: str, meta: dict[str, Any]) -> OutboundReply:
    return OutboundReply(
        text=text,
        spoken=meta.get("spoken"),
        choices=tuple(meta.get("choices", ())),
        action=meta.get("action"),
    )


def result_of(
    conversation: Conversation,
    inbound: Message,
    replies: list[OutboundReply],
    ticket: Ticket | None,
) -> IntakeResult:
    ref = TicketRef(ticket.number, ticket.status) if ticket else None
    return IntakeResult(conversation.id, message_id(inbound), tuple(replies), ref)


def citizen_id(citizen: Citizen) -> int:
    if citizen.id is None:
        raise RuntimeError("citizen has no id")
    return citizen.id


def message_id(message: Message) -> int:
    if message.id is None:
        raise RuntimeError("message has no id")
    return message.id
