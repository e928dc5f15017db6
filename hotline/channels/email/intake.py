"""A readable mail into the intake: material for the sender's ticket, or a new letter.

A reply to one of our mails (its headers, or the ``[工单 …]`` tag in its subject) from the
ticket's own address is added to that ticket (:mod:`hotline.intake.supplements`); any other
mail is a letter and creates its ticket at once through ``IntakePipeline.submit_letter``, whose
acknowledgement is queued for the SMTP pusher in the same transaction. Both are idempotent on
the mail's Message-ID, so a mail seen twice (a crash before it was marked, two workers polling
one mailbox) is taken once.

Attachments obey the letter box's limits (count, size, type); one that does not is not stored,
and the text says so, so agents know to ask for it. A body longer than the intake takes is cut,
and its whole text stored as a file beside the attachments.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels.email import threads
from hotline.channels.email.parse import MailFile, ParsedMail
from hotline.config import LettersConfig
from hotline.intake import records
from hotline.intake.messages import Attachment, InboundMessage
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.steps import CallbackStep
from hotline.intake.supplements import add_supplement
from hotline.intake.tickets import TicketRequest
from hotline.storage.db import Database
from hotline.storage.files import AttachmentStore
from hotline.storage.models import Conversation
from hotline.storage.repos import conversations

CUT_NOTE = "……（正文较长，已截取；全文见附件 邮件正文.txt）"
FULL_TEXT_NAME = "邮件正文.txt"
#: a ticket's title holds at most this much of the subject
TITLE_CHARS = 200
#: a display name is cut to what the letter form takes as a name
NAME_CHARS = 50


class Taken(StrEnum):
    CREATED = "created"
    SUPPLEMENTED = "supplemented"
    RATED = "rated"  # answered a satisfaction callback (回访) asked by mail
    REPEATED = "repeated"


class MailIntake:
    def __init__(
        self,
        *,
        pipeline: IntakePipeline,
        database: Database,
        store: AttachmentStore,
        limits: LettersConfig,
        max_text_chars: int,
        callbacks: CallbackStep | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._callbacks = callbacks
        self._database = database
        self._store = store
        self._limits = limits
        self._max_chars = max_text_chars

    async def take(self, mail: ParsedMail) -> Taken:
        """Store ``mail`` once; raises ``StorageUnavailable`` with nothing stored."""
        message, request = await self._letter(mail)
        supplemented = await self._supplement(mail, message, mail.body)
        if supplemented is not None:
            return supplemented
        result = await self._pipeline.submit_letter(message, request)
        return Taken.REPEATED if result.repeated else Taken.CREATED

    async def _letter(self, mail: ParsedMail) -> tuple[InboundMessage, TicketRequest]:
        """The intake's message and ticket request, with the files that may be kept stored."""
        subject = mail.subject[: min(TITLE_CHARS, self._max_chars // 2)]
        files, refused = await asyncio.to_thread(self._store_files, mail.files)
        budget = self._max_chars - len(subject) - 1
        description, full = _cut(mail.body + _refusals(refused), budget)
        if full is not None:
            files.append(await asyncio.to_thread(self._store_text, full))
        name = (mail.sender_name or "")[:NAME_CHARS] or None
        message = InboundMessage(
            channel=threads.CHANNEL,
            sender=mail.sender,
            external_id=mail.external_id,
            text=f"{subject}\n{description}".strip(),
            contact_name=name,
            attachments=tuple(files),
        )
        request = TicketRequest(
            description=description or subject,
            title=subject or None,
            contact_email=mail.sender,  # the address the letter is answered at
            contact_name=name,
        )
        return message, request

    async def _supplement(
        self, mail: ParsedMail, message: InboundMessage, body: str
    ) -> Taken | None:
        try:
            async with self._database.session() as session:
                seen = await conversations.find_inbound(
                    session, channel=threads.CHANNEL, external_id=message.external_id
                )
                if seen is not None:
                    return Taken.REPEATED
                thread = await threads.find_thread(session, mail)
                if thread is None:
                    return None
                # the thread's address, also for a reply from the citizen's other one
                # (From where we answer Reply-To): callbacks are asked at that address
                message = replace(message, sender=thread.conversation.address)
                if await self._rated(session, message, body, thread.conversation):
                    return Taken.RATED
                await add_supplement(
                    session, message, ticket=thread.ticket, conversation=thread.conversation
                )
                return Taken.SUPPLEMENTED
        except IntegrityError:
            if await self._stored(message.external_id):  # another worker took it first
                return Taken.REPEATED
            raise

    async def _rated(
        self,
        session: AsyncSession,
        message: InboundMessage,
        body: str,
        conversation: Conversation,
    ) -> bool:
        """A reply that answers the satisfaction question ("1", "不满意，…") is a rating: it is
        stored with the thanks, which goes back by mail through the outbox."""
        if self._callbacks is None:
            return False
        reply = await self._callbacks.capture(
            session, channel=threads.CHANNEL, address=message.sender, text=body, state="idle"
        )
        if reply is None:
            return False
        inbound = await records.store_inbound(session, conversation, message)
        await records.store_replies(session, conversation, inbound, [reply], None, push=True)
        return True

    async def _stored(self, external_id: str) -> bool:
        async with self._database.read() as session:
            found = await conversations.find_inbound(
                session, channel=threads.CHANNEL, external_id=external_id
            )
        return found is not None

    def _store_files(self, files: tuple[MailFile, ...]) -> tuple[list[Attachment], list[str]]:
        stored: list[Attachment] = []
        refused: list[str] = []
        limits = self._limits
        for file in files:
            if file.content_type not in limits.allowed_content_types or not file.data:
                refused.append(f"{file.filename}（类型 {file.content_type} 不受理）")
            elif len(file.data) > limits.max_attachment_bytes:
                refused.append(f"{file.filename}（超过 {limits.max_attachment_bytes} 字节）")
            elif len(stored) >= limits.max_attachments:
                refused.append(f"{file.filename}（超过 {limits.max_attachments} 个附件）")
            else:
                stored.append(
                    self._store.put(
                        file.data, filename=file.filename, content_type=file.content_type
                    )
                )
        return stored, refused

    def _store_text(self, text: str) -> Attachment:
        return self._store.put(
            text.encode("utf-8"), filename=FULL_TEXT_NAME, content_type="text/plain"
        )


def _refusals(refused: list[str]) -> str:
    return "\n\n【未接收的附件】" + "；".join(refused) if refused else ""


def _cut(text: str, budget: int) -> tuple[str, str | None]:
    """``text`` within ``budget`` characters, and the whole text when it had to be cut."""
    if len(text) <= budget:
        return text, None
    return text[: max(0, budget - len(CUT_NOTE))] + CUT_NOTE, text
