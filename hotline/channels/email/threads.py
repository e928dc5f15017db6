"""Mail threads: our Message-IDs, the ticket tag in our subjects, and the ticket a reply is for.

Our Message-ID is derived from the stored message it carries, ``<hotline.<conversation
id>.<message id>@<domain>>``: the conversation id is 128 random bits, so nobody who has not
received the mail can forge a reply to it, and a retried send carries the same id (a mail
client shows a repeat as one mail). Nothing more needs storing: a reply's ``In-Reply-To`` or
``References`` leads back to the conversation, hence to its ticket. Subjects carry the ticket
number as ``[工单 <number>]`` for replies whose client drops those headers.

A reply counts only when it comes from the address the ticket's conversation is with (its
From, or its Reply-To: the address we answer); anything else is a new mail (a stranger quoting
a ticket number reads nobody's ticket: what we write goes to the conversation's address).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.email.parse import ParsedMail
from hotline.errors import NotFound
from hotline.storage.models import Conversation, Message, Ticket
from hotline.storage.repos import conversations
from hotline.storage.repos import tickets as ticket_repo

CHANNEL = "email"
_OURS = re.compile(r"^<hotline\.([0-9a-f]{32})\.(\d+)@[^<>\s]+>$")
_NOTICE = re.compile(r"^<hotline-notice\.[0-9a-f]{32}@[^<>\s]+>$")
_TAG = re.compile(r"\[\s*工单\s*[:：]?\s*(\d{8})-?(\d{3,8})\s*\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|回复|答复|回覆|转发)\s*[:：]\s*)+", re.IGNORECASE)


def message_id(*, conversation_id: str, message_id: int, domain: str) -> str:
    """The Message-ID of the mail carrying stored message ``message_id``."""
    return f"<hotline.{conversation_id}.{message_id}@{domain}>"


def notice_id(domain: str) -> str:
    """A Message-ID for a notice about a mail we could not take (no stored message)."""
    return f"<hotline-notice.{uuid.uuid4().hex}@{domain}>"


def answers_a_notice(mail: ParsedMail) -> bool:
    """Whether ``mail`` replies to one of our notices: it is never answered with another."""
    return any(_NOTICE.match(ref) for ref in mail.references)


def tag(number: str) -> str:
    return f"[工单 {number}]"


def tagged_number(subject: str) -> str | None:
    """The ticket number in a ``[工单 …]`` tag of ``subject``, if any."""
    found = _TAG.search(subject)
    return found.group(1) + found.group(2) if found else None


def opening_subject(title: str, number: str | None) -> str:
    """``<the ticket's title> [工单 <number>]`` for a thread we start (a callback by mail)."""
    bare = _TAG.sub("", " ".join(title.split())).strip() or "您反映的问题"
    return f"{bare} {tag(number)}" if number else bare


def reply_subject(subject: str, number: str | None) -> str:
    """``Re: <their subject> [工单 <number>]``, without piling up prefixes or tags."""
    bare = _TAG.sub("", _REPLY_PREFIX.sub("", " ".join(subject.split()))).strip()
    bare = bare or "您的来信"
    return f"Re: {bare} {tag(number)}" if number else f"Re: {bare}"


@dataclass(frozen=True)
class Thread:
    """The ticket a reply belongs to, and the conversation its mails are stored in."""

    ticket: Ticket
    conversation: Conversation


async def find_thread(session: AsyncSession, mail: ParsedMail) -> Thread | None:
    """The sender's own ticket this mail answers, by its headers, else by its subject's tag."""
    for conversation_id in await _referenced_conversations(session, mail.references):
        thread = await _thread_of(session, conversation_id, mail.addresses)
        if thread is not None:
            return thread
    number = tagged_number(mail.subject)
    if number is None:
        return None
    try:
        ticket = await ticket_repo.by_number(session, number=number)
    except NotFound:
        return None
    if ticket.conversation_id is not None:
        thread = await _thread_of(session, ticket.conversation_id, mail.addresses)
        if thread is not None:
            return thread
    return await _opened_by_us(session, ticket, mail.addresses)


async def _referenced_conversations(
    session: AsyncSession, references: tuple[str, ...]
) -> list[str]:
    found: list[str] = []
    for reference in reversed(references):  # the nearest first
        if ours := _OURS.match(reference):
            found.append(ours.group(1))
            continue
        # The citizen's own earlier mail (a "reply all" that skipped ours).
        earlier = await conversations.find_inbound(session, channel=CHANNEL, external_id=reference)
        if earlier is not None:
            found.append(earlier.conversation_id)
    return list(dict.fromkeys(found))


async def _thread_of(
    session: AsyncSession, conversation_id: str, addresses: frozenset[str]
) -> Thread | None:
    conversation = await session.get(Conversation, conversation_id)
    if (
        conversation is None
        or conversation.channel != CHANNEL
        or conversation.address not in addresses
    ):
        return None
    ticket = await ticket_of(session, conversation_id)
    return None if ticket is None else Thread(ticket, conversation)


async def ticket_of(session: AsyncSession, conversation_id: str) -> Ticket | None:
    """The ticket a mail conversation was opened for (one per new mail), or, for a thread we
    opened about a ticket filed elsewhere (a callback), the ticket our latest mail is about."""
    statement = (
        select(Ticket).where(Ticket.conversation_id == conversation_id).order_by(col(Ticket.id))
    )
    ticket = (await session.execute(statement)).scalars().first()
    if ticket is not None:
        return ticket
    about = (
        select(Ticket)
        .join(Message, col(Message.ticket_id) == col(Ticket.id))
        .where(Message.conversation_id == conversation_id)
        .order_by(col(Message.id).desc())
    )
    return (await session.execute(about)).scalars().first()


async def _opened_by_us(
    session: AsyncSession, ticket: Ticket, addresses: frozenset[str]
) -> Thread | None:
    """The mail thread we opened at one of these addresses about ``ticket``, filed on another
    channel (a callback to an Open311 citizen), found by a reply that kept only the tag."""
    statement = (
        select(Conversation)
        .join(Message, col(Message.conversation_id) == col(Conversation.id))
        .where(Conversation.channel == CHANNEL)
        .where(col(Conversation.address).in_(addresses))
        .where(Message.ticket_id == ticket.id)
        .order_by(col(Message.id).desc())
    )
    conversation = (await session.execute(statement)).scalars().first()
    return None if conversation is None else Thread(ticket, conversation)
