"""Mails to citizens over SMTP: replies threaded under their mail, and notices about refused mail.

What we write to a mail citizen — the acknowledgement with the ticket number, an agent's reply,
the resolution — is stored first and owed to the ``citizen_push`` outbox in the same
transaction; :class:`EmailPusher` is the outbox worker's sender for the ``email`` channel. It
reads the thread from the database (the citizen's Message-IDs, the ticket) and sends
``Re: <their subject> [工单 <number>]`` with ``In-Reply-To`` and ``References`` set and our own
Message-ID derived from the stored message (see :mod:`hotline.channels.email.threads`), so a
retried send is recognisably the same mail and the citizen's reply finds its ticket.
Automatic mails (the acknowledgement, notices) carry ``Auto-Submitted: auto-replied`` (RFC
3834) so that other robots do not answer them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.email import threads
from hotline.channels.email.parse import ParsedMail
from hotline.channels.push import PushFailed
from hotline.routing.delivery import CertificateUntrusted, SmtpSettings, send_mail
from hotline.storage.db import Database
from hotline.storage.models import Conversation, Direction, Message, Ticket
from hotline.storage.repos import conversations

FOOTER = (
    "如需补充材料，请直接回复本邮件，并保留主题中的工单编号。\n"
    "本信箱不受理紧急求助：紧急情况请拨打110、119、120、122。"
)
NOTICE = (
    "您发送到12345信箱的邮件未能受理：{reason}。\n\n"
    "请修改后重新发送，或拨打12345政务服务便民热线。本邮件由系统自动发送。"
)
#: how many of the citizen's Message-IDs a reply's References lists (the first and the latest)
REFERENCES = 10


@dataclass(frozen=True)
class Outgoing:
    """One mail to a citizen, before it is put into MIME."""

    to: str
    subject: str
    text: str
    message_id: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False


class Postman:
    """Puts :class:`Outgoing` mails into MIME and hands them to the SMTP server."""

    def __init__(self, smtp: SmtpSettings, *, display_name: str) -> None:
        self.smtp = smtp
        self.domain = smtp.sender.rsplit("@", 1)[-1]
        username, _, domain = smtp.sender.partition("@")
        self._from = Address(display_name=display_name, username=username, domain=domain)
        self._signature = display_name

    def compose(self, mail: Outgoing) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = mail.message_id
        if mail.in_reply_to:
            message["In-Reply-To"] = mail.in_reply_to
        if mail.references:
            message["References"] = " ".join(mail.references)
        if mail.automatic:
            message["Auto-Submitted"] = "auto-replied"
        body = f"您好：\n\n{mail.text}\n\n{FOOTER}\n\n{self._signature}\n"
        message.set_content(body, charset="utf-8", cte="base64")
        return message

    async def send(self, mail: Outgoing) -> None:
        """Send, or raise :class:`PushFailed` (``final`` when the server refused the address)."""
        s = self.smtp
        try:
            await send_mail(s, self.compose(mail), to=mail.to)
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise PushFailed(f"SMTP refused the recipient: {e}", final=_permanent(e)) from e
        except aiosmtplib.SMTPResponseException as e:
            raise PushFailed(f"SMTP {e.code}: {e.message}") from e
        except CertificateUntrusted as e:  # logged by send_mail; retried once the CA is set
            raise PushFailed(str(e)) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            raise PushFailed(f"SMTP {s.host}:{s.port} unreachable: {e!r}") from e

    async def notify(self, mail: ParsedMail, reason: str) -> None:
        """Tell the sender of a mail we could not take why (an automatic mail, never threaded
        to a ticket, whose replies are never answered)."""
        await self.send(
            Outgoing(
                to=mail.sender,
                subject=threads.reply_subject(mail.subject, None),
                text=NOTICE.format(reason=reason),
                message_id=threads.notice_id(self.domain),
                in_reply_to=mail.message_id,
                references=(mail.message_id,) if mail.message_id else (),
                automatic=True,
            )
        )


def _permanent(error: aiosmtplib.SMTPRecipientsRefused) -> bool:
    return all(500 <= refusal.code < 600 for refusal in error.recipients)


class EmailPusher:
    """The outbox worker's sender for the ``email`` channel (a ``MessagePusher``)."""

    def __init__(self, database: Database, postman: Postman) -> None:
        self._database = database
        self._postman = postman

    async def push_message(self, message_id: int, address: str, text: str) -> None:
        async with self._database.read() as session:
            mail = await self._outgoing(session, message_id, address, text)
        await self._postman.send(mail)

    async def push(self, address: str, text: str) -> None:
        """A mail outside any thread (the outbox always names the message; see above)."""
        await self._postman.send(
            Outgoing(to=address, subject="12345政务服务便民热线", text=text,
                     message_id=threads.notice_id(self._postman.domain))
        )  # fmt: skip

    async def close(self) -> None:
        return None

    async def _outgoing(
        self, session: AsyncSession, message_id: int, address: str, text: str
    ) -> Outgoing:
        message = await session.get(Message, message_id)
        if message is None:
            raise PushFailed(f"message {message_id} is gone", final=True)
        conversation = await conversations.get(session, conversation_id=message.conversation_id)
        ticket = await self._ticket(session, message, conversation)
        theirs = await _citizen_ids(session, conversation)
        # a thread we open (a callback to a citizen who wrote elsewhere) is no "Re:"
        subject = threads.reply_subject if theirs else threads.opening_subject
        return Outgoing(
            to=address,
            subject=subject(ticket.title if ticket else "", _number(ticket)),
            text=text,
            message_id=threads.message_id(
                conversation_id=conversation.id, message_id=message_id, domain=self._postman.domain
            ),
            in_reply_to=theirs[-1] if theirs else None,
            references=_references(theirs),
            automatic=message.author == "bot",
        )

    @staticmethod
    async def _ticket(
        session: AsyncSession, message: Message, conversation: Conversation
    ) -> Ticket | None:
        if message.ticket_id is not None:
            return await session.get(Ticket, message.ticket_id)
        return await threads.ticket_of(session, conversation.id)


async def _citizen_ids(session: AsyncSession, conversation: Conversation) -> list[str]:
    """The Message-IDs of the citizen's mails in the conversation, oldest first."""
    rows = await session.execute(
        select(Message.external_id)
        .where(Message.conversation_id == conversation.id)
        .where(Message.direction == Direction.INBOUND)
        .order_by(col(Message.id))
    )
    return [ref for ref in rows.scalars() if ref and ref.startswith("<")]


def _references(ids: Sequence[str]) -> tuple[str, ...]:
    if len(ids) <= REFERENCES:
        return tuple(ids)
    return (ids[0], *ids[-(REFERENCES - 1) :])


def _number(ticket: Ticket | None) -> str | None:
    return ticket.number if ticket else None
