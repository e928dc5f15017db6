"""What must not happen with the mailbox: robots answered, bad mail crashing the poller, a mail
lost or taken twice (two pollers, a crash before it was marked), the poller dying with the
IMAP server or the database."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from hotline.channels.email.imap import Mailbox, MailboxError
from hotline.errors import StorageUnavailable
from hotline.storage.models import CitizenPush
from hotline.workers import build_mail_poller
from tests.channels.channel_services import channel_services
from tests.channels.email_desk import MailDesk, email_section, mail_desk
from tests.channels.mail_servers import (
    OUR_ADDRESS,
    Folders,
    ImapServer,
    SmtpInbox,
    citizen_mail,
    self_signed,
    text_of,
)

AUTOMATIC: list[dict[str, str]] = [
    {"Auto_Submitted": "auto-replied"},
    {"Precedence": "bulk"},
    {"List_Id": "<residents.lists.example.com>"},
    {"sender": "MAILER-DAEMON@mx.example.com"},
    {"sender": f"12345 <{OUR_ADDRESS}>"},
    {"X_Autoreply": "yes"},
]


@pytest.mark.parametrize("headers", AUTOMATIC)
async def test_mails_written_by_machines_are_never_answered(
    desk: MailDesk, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hotline.channels.email")
    desk.folders.deliver(citizen_mail("我正在休假，回来后回复您。", **headers))
    report = await desk.poll()
    assert (report.ignored, report.created) == (1, 0)
    assert await desk.nothing_written()
    assert desk.folders.count(desk.folders.config()["ignored"]) == 1
    assert desk.folders.count() == 0
    await desk.send()
    assert desk.smtp.mails == []
    assert "zhangsan@example.com" not in caplog.text


async def test_an_oversized_mail_is_rejected_and_its_sender_told(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
) -> None:
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=folders, smtp=smtp,
        max_message_bytes=10_240,
    ) as desk:  # fmt: skip
        mail = citizen_mail("见附件。", message_id="<big@example.com>")
        mail.add_attachment(b"\xff" * 20_000, maintype="image", subtype="jpeg", filename="a.jpg")
        desk.folders.deliver(mail)
        report = await desk.poll()
        assert (report.rejected, report.created) == (1, 0)
        assert await desk.nothing_written()
        [flags] = folders.flags(folders.config()["rejected"])
        assert "\\Flagged" in flags
        assert "\\Seen" in flags
        [(_, rcpt_tos, notice)] = smtp[0].mails
        assert rcpt_tos == ["zhangsan@example.com"]
        assert notice["In-Reply-To"] == "<big@example.com>"
        assert notice["Auto-Submitted"] == "auto-replied"
        assert "超过 10 KB 的大小限制" in text_of(notice)


async def test_malformed_and_empty_mails_are_rejected_and_never_crash_the_poller(
    desk: MailDesk,
) -> None:
    desk.folders.deliver(b"this is not a mail at all\r\n\r\n\x00\xff garbage")
    desk.folders.deliver(citizen_mail("", subject=""))
    desk.folders.deliver(citizen_mail("这封能读。"))
    report = await desk.poll()
    assert (report.rejected, report.created) == (2, 1)
    assert desk.folders.count(desk.folders.config()["rejected"]) == 2
    [notice] = desk.smtp.messages  # no sender to tell for the garbage
    assert "没有可读的正文" in text_of(notice)
    # A robot answering our notice with nothing readable is not told again.
    desk.folders.deliver(citizen_mail("", subject="", In_Reply_To=notice["Message-ID"]))
    assert (await desk.poll()).rejected == 1
    assert len(desk.smtp.mails) == 1


async def test_two_pollers_on_one_mail_make_one_ticket_and_one_acknowledgement(
    desk: MailDesk,
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two ``hotline worker`` processes: each its own engine and intake, one mailbox."""
    both_fetched = asyncio.Barrier(2)
    fetch = Mailbox.fetch

    async def fetch_together(self: Mailbox, uid: int, **kwargs: Any) -> bytes | None:
        raw = await fetch(self, uid, **kwargs)
        await both_fetched.wait()  # neither takes the mail before the other has it too
        return raw

    monkeypatch.setattr(Mailbox, "fetch", fetch_together)
    desk.folders.deliver(citizen_mail("两个进程同时收到的信。"))
    async with channel_services(
        tmp_path / "other", database_url, analyzer, encoder, email=desk.poller.config.model_dump()
    ) as other:
        second = build_mail_poller(other.config, other.pipeline, other.database)
        assert second is not None
        reports = await asyncio.gather(desk.poll(), second.poll_once())
    assert sorted((r.created, r.repeated) for r in reports) == [(0, 1), (1, 0)]
    assert (await desk.count(), await desk.count(CitizenPush)) == (1, 1)
    assert await desk.send() == 1
    assert len(desk.smtp.mails) == 1


async def test_a_crash_after_the_commit_before_the_mark_makes_no_second_ticket(
    desk: MailDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost_connection(*_: Any, **__: Any) -> None:
        raise MailboxError("connection reset while marking")

    desk.folders.deliver(citizen_mail("崩溃前已提交的信。"))
    with monkeypatch.context() as patch:
        patch.setattr(Mailbox, "settle", lost_connection)
        with pytest.raises(MailboxError):
            await desk.poll()
    assert await desk.count() == 1
    assert desk.folders.count(criteria="UNSEEN") == 1  # not marked: seen again next time
    report = await desk.poll()
    assert (report.repeated, report.created) == (1, 0)
    assert desk.folders.count() == 0
    assert (await desk.count(), await desk.count(CitizenPush)) == (1, 1)
    assert await desk.send() == 1


async def test_the_poller_outlives_an_imap_outage_and_recovers(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    smtp: tuple[SmtpInbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = ImapServer()  # not started: nothing listens on its port yet
    folders = Folders(server)
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=folders, smtp=smtp
    ) as desk:
        desk.poller.start()
        await _until(lambda: caplog.text.count("email.mailbox_unavailable") >= 2)
        await asyncio.to_thread(server.start)
        try:
            folders.deliver(citizen_mail("IMAP 恢复后的信。"))
            await _until_async(desk.count, 1)
        finally:
            await desk.poller.stop()
            await asyncio.to_thread(server.stop)
    assert "attempt=2" in caplog.text


async def test_a_refused_login_is_an_outage_not_a_crash(
    imap_server: ImapServer, folders: Folders
) -> None:
    from hotline.channels.email.config import EmailConfig

    config = EmailConfig.model_validate(email_section(imap_server.port, 25, folders.config()))
    wrong = config.imap.model_copy(update={"password": "wrong"})
    with pytest.raises(
        MailboxError, match=r"login to 127\.0\.0\.1 refused: .*AUTHENTICATIONFAILED"
    ):
        async with Mailbox(wrong, config.folders):
            pass


async def test_with_the_database_down_the_mail_stays_unseen(
    desk: MailDesk, tmp_path: Path, analyzer: Any, encoder: Any
) -> None:
    desk.folders.deliver(citizen_mail("数据库停机时到达的信。"))
    down = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    email = desk.poller.config.model_dump()
    async with channel_services(tmp_path / "down", down, analyzer, encoder, email=email) as dead:
        poller = build_mail_poller(dead.config, dead.pipeline, dead.database)
        assert poller is not None
        with pytest.raises(StorageUnavailable):
            await poller.poll_once()
    assert desk.folders.count(criteria="UNSEEN") == 1
    assert await desk.nothing_written()
    assert (await desk.poll()).created == 1  # the database is back: taken once, now
    assert await desk.send() == 1


async def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _until_async(read: Any, expected: Any, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await read() != expected:
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_starttls_checks_the_servers_certificate(tmp_path: Path) -> None:
    from hotline.channels.email.config import EmailConfig

    cert, key = self_signed(tmp_path)
    server = await asyncio.to_thread(ImapServer(tls=(cert, key)).start)
    try:
        section = email_section(server.port, 25, {"inbox": "INBOX"})
        section["imap"] |= {"security": "starttls"}
        config = EmailConfig.model_validate(section)
        with pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED"):
            async with Mailbox(config.imap, config.folders):
                pass  # our CA is not the system's: refused, nothing sent in the clear
        trusted = config.imap.model_copy(update={"ca_file": str(cert)})
        async with Mailbox(trusted, config.folders) as box:
            assert await box.unseen(10) == []
    finally:
        await asyncio.to_thread(server.stop)


async def test_without_move_a_mail_is_copied_and_expunged_by_uid(
    imap_server: ImapServer, folders: Folders
) -> None:
    from hotline.channels.email.config import EmailConfig

    config = EmailConfig.model_validate(email_section(imap_server.port, 25, folders.config()))
    folders.deliver(citizen_mail("一封"))
    folders.deliver(citizen_mail("两封"))
    async with Mailbox(config.imap, config.folders) as box:
        box._capabilities -= {"MOVE"}  # a server of plain IMAP4rev1 + UIDPLUS
        first, second = await box.unseen(10)
        await box.settle(first.uid, config.folders.processed)
    assert folders.count(config.folders.processed) == 1
    assert folders.count() == 1  # the other mail is untouched, still unseen
    assert folders.count(criteria="UNSEEN") == 1
    assert second.size > 0
