"""Polling the citizens' mailbox: each unseen mail is taken, ignored or rejected, then marked.

A mail is marked ``\\Seen`` (or moved to the processed folder) only after the intake committed
it; a crash in between leaves it unseen, and the next poll's intake answers it as a repeat. So
nothing acknowledged is lost, and several ``hotline worker`` processes may poll one mailbox.
Mails written by machines (auto-replies, bounces, lists, our own) are never answered: they
are marked as ignored. Oversized, malformed and empty mails are rejected (a folder, or the
``\\Flagged`` flag) and, when a person sent them, told why. When the mailbox cannot be reached
the poller waits (doubling up to a limit) and tries again; when the database is down the mail
stays unseen. Addresses are logged masked.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from hotline.background import BackgroundLoop
from hotline.channels.email import threads
from hotline.channels.email.config import EmailConfig
from hotline.channels.email.imap import Envelope, Mailbox, MailboxError, MailboxUntrusted
from hotline.channels.email.intake import MailIntake, Taken
from hotline.channels.email.outgoing import Postman
from hotline.channels.email.parse import MalformedMail, ParsedMail, parse_mail
from hotline.channels.push import PushFailed
from hotline.config import Config
from hotline.errors import StorageUnavailable
from hotline.intake.pipeline import IntakePipeline
from hotline.intake.steps import CallbackStep
from hotline.nlu.masking import mask_personal_data
from hotline.storage.db import Database
from hotline.storage.files import AttachmentStore

log = logging.getLogger(__name__)

TOO_LARGE = "邮件超过 {limit} 的大小限制，请压缩或减少附件后重新发送"
NO_TEXT = "邮件没有可读的正文，请在正文中用文字描述您的诉求"
FAILED = "系统暂时无法处理这封邮件，请稍后重新发送"


@dataclass
class PollReport:
    fetched: int = 0
    created: int = 0
    supplemented: int = 0
    rated: int = 0
    repeated: int = 0
    ignored: int = 0
    rejected: int = 0
    failed: int = 0

    def count(self, taken: Taken) -> None:
        setattr(self, str(taken), getattr(self, str(taken)) + 1)


def mail_poller(
    config: Config,
    pipeline: IntakePipeline,
    database: Database,
    postman: Postman,
    callbacks: CallbackStep | None = None,
) -> EmailPoller:
    """The poller of ``config.channels.email``, filing through the letter intake."""
    intake = MailIntake(
        pipeline=pipeline,
        database=database,
        store=AttachmentStore(config.data_dir / "attachments"),
        limits=config.channels.letters,
        max_text_chars=config.intake.max_text_chars,
        callbacks=callbacks,
    )
    return EmailPoller(config.channels.email, intake, postman)


class EmailPoller(BackgroundLoop):
    task_name = "email-poller"

    def __init__(self, config: EmailConfig, intake: MailIntake, postman: Postman) -> None:
        super().__init__()
        self.config = config
        self._intake = intake
        self._postman = postman
        #: intake failures per UID that were not outages; past ``max_failures`` it is rejected
        self._failures: dict[int, int] = {}

    async def poll_once(self) -> PollReport:
        """Take one batch of unseen mails; raises ``MailboxError`` or ``StorageUnavailable``."""
        report = PollReport()
        async with Mailbox(self.config.imap, self.config.folders) as box:
            for envelope in await box.unseen(self.config.batch_size):
                if self._stop.is_set():
                    break
                report.fetched += 1
                await self._one(box, envelope, report)
        return report

    async def _one(self, box: Mailbox, envelope: Envelope, report: PollReport) -> None:
        too_large = envelope.size > self.config.max_message_bytes
        raw = await box.fetch(envelope.uid, header_only=too_large)
        if raw is None:
            return  # moved away by another worker meanwhile
        try:
            mail = parse_mail(raw, own_address=self.config.address)
        except MalformedMail as e:
            log.warning("email.rejected uid=%d malformed: %s", envelope.uid, _masked(e.message))
            await self._reject(box, envelope.uid, None, e.reason, report)
            return
        folders = self.config.folders
        if mail.automated is not None:
            log.info(
                "email.ignored uid=%d from=%s reason=%s",
                envelope.uid, _masked(mail.sender), mail.automated,
            )  # fmt: skip
            await box.settle(envelope.uid, folders.ignored)
            report.ignored += 1
        elif too_large:
            limit = _size(self.config.max_message_bytes)
            await self._reject(box, envelope.uid, mail, TOO_LARGE.format(limit=limit), report)
        elif not mail.body and not mail.subject:
            await self._reject(box, envelope.uid, mail, NO_TEXT, report)
        else:
            await self._take(box, envelope.uid, mail, report)

    async def _take(self, box: Mailbox, uid: int, mail: ParsedMail, report: PollReport) -> None:
        try:
            taken = await self._intake.take(mail)
        except StorageUnavailable:
            raise  # the batch stops here; this mail and the rest stay unseen
        except Exception:
            failures = self._failures.get(uid, 0) + 1
            self._failures[uid] = failures
            log.exception("email.intake_failed uid=%d attempt=%d", uid, failures)
            report.failed += 1
            if failures >= self.config.max_failures:
                await self._reject(box, uid, mail, FAILED, report)
            return
        await box.settle(uid, self.config.folders.processed)
        self._failures.pop(uid, None)
        report.count(taken)
        log.info("email.%s uid=%d from=%s", taken, uid, _masked(mail.sender))

    async def _reject(
        self, box: Mailbox, uid: int, mail: ParsedMail | None, reason: str, report: PollReport
    ) -> None:
        """Tell a person why (best effort), then flag or move the mail: it is never retried."""
        if mail is not None:
            log.warning("email.rejected uid=%d from=%s: %s", uid, _masked(mail.sender), reason)
            if not threads.answers_a_notice(mail):
                try:
                    await self._postman.notify(mail, reason)
                except PushFailed as e:
                    log.warning("email.notice_failed uid=%d: %s", uid, _masked(str(e)))
        await box.settle(uid, self.config.folders.rejected, flag=True)
        self._failures.pop(uid, None)
        report.rejected += 1

    # -- running in the background -----------------------------------------------------------

    async def _loop(self) -> None:
        outages = 0
        while not self._stop.is_set():
            try:
                report = await self.poll_once()
            except (MailboxError, StorageUnavailable) as e:
                outages += 1
                level, event = _outage(e)
                log.log(level, "email.%s attempt=%d: %s", event, outages, _masked(e.message))
            except Exception:  # a bug must not end the loop; the mails stay unseen
                outages += 1
                log.exception("email.poll_failed attempt=%d", outages)
            else:
                outages = 0
                if report.fetched >= self.config.batch_size:
                    continue  # more are waiting
            await self._pause(self._delay(outages))

    def _delay(self, outages: int) -> float:
        if outages == 0:
            return self.config.poll_seconds
        config = self.config
        doubled = config.backoff_base_seconds * 2 ** min(outages - 1, 32)
        delay = min(doubled, config.backoff_max_seconds)
        return delay * random.uniform(0.8, 1.2)  # noqa: S311 (jitter, not a secret)


def _outage(error: MailboxError | StorageUnavailable) -> tuple[int, str]:
    """The log level and event of a failed poll: an untrusted certificate needs a person
    (``imap.ca_file``), not patience, so it is an error; an outage is a warning."""
    if isinstance(error, MailboxUntrusted):
        return logging.ERROR, "mailbox_certificate_untrusted"
    if isinstance(error, MailboxError):
        return logging.WARNING, "mailbox_unavailable"
    return logging.WARNING, "database_unavailable"


def _masked(text: str) -> str:
    return mask_personal_data(text)


def _size(limit: int) -> str:
    return f"{limit / 1_048_576:.0f} MB" if limit >= 1_048_576 else f"{limit // 1024} KB"
