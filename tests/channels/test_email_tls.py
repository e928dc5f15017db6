"""TLS to the mail servers: IMAPS (TLS on connect) through a real TLS front before pymap, SMTP
with implicit TLS (465) and STARTTLS against aiosmtpd; certificates checked against ``ca_file``,
and a certificate the hotline does not trust logged as an error with no mail lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hotline.channels.email.config import EmailConfig
from hotline.channels.email.imap import Mailbox, MailboxUntrusted
from hotline.channels.email.outgoing import EmailPusher, Postman
from hotline.channels.push import PushWorker
from hotline.routing.delivery import SmtpSettings
from hotline.routing.worker import WorkerSettings
from hotline.storage.models import CitizenPush, PushStatus
from hotline.storage.types import utcnow
from tests.channels.email_desk import MailDesk, email_section, mail_desk
from tests.channels.mail_servers import (
    OUR_ADDRESS,
    Folders,
    ImapServer,
    SmtpInbox,
    citizen_mail,
    self_signed,
    smtp_server,
    text_of,
)
from tests.channels.tls_front import TlsFront

Pair = tuple[Path, Path]


@pytest.fixture
def server_cert(tmp_path: Path) -> Pair:
    """The certificate both servers present (its own CA)."""
    return self_signed(tmp_path, "server")


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A CA that did not sign the servers' certificate."""
    return self_signed(tmp_path, "other")[0]


@pytest.fixture
def imaps(imap_server: ImapServer, server_cert: Pair) -> Iterator[TlsFront]:
    with TlsFront(imap_server.port, server_cert) as front:
        yield front


def over_imaps(front: TlsFront, ca_file: Path) -> dict[str, Any]:
    return {"port": front.port, "security": "tls", "ca_file": str(ca_file)}


async def pushes(desk: MailDesk) -> list[CitizenPush]:
    async with desk.services.database.read() as session:
        return list((await session.execute(select(CitizenPush))).scalars())


async def _until(condition: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_mail_comes_in_over_imaps_and_the_answer_goes_out_over_smtps(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    imaps: TlsFront,
    server_cert: Pair,
    unused_tcp_port: int,
) -> None:
    cert = str(server_cert[0])
    with smtp_server(unused_tcp_port, tls=server_cert) as inbox:
        async with mail_desk(
            tmp_path, database_url, analyzer, encoder, folders=folders,
            smtp=(inbox, unused_tcp_port), imap_options=over_imaps(imaps, server_cert[0]),
            smtp_options={"security": "tls", "ca_file": cert},
        ) as desk:  # fmt: skip
            folders.deliver(citizen_mail("加密信道送来的信。"))
            assert (await desk.poll()).created == 1
            assert await desk.send() == 1
            [ticket] = await desk.tickets()
    [(mail_from, rcpt_tos, ack)] = inbox.mails
    assert (mail_from, rcpt_tos) == (OUR_ADDRESS, ["zhangsan@example.com"])
    assert ack["Subject"] == f"Re: 小区路灯坏了 [工单 {ticket.number}]"
    assert folders.count() == 0


async def test_an_untrusted_imap_certificate_is_an_error_and_the_mail_stays_unseen(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    imaps: TlsFront,
    server_cert: Pair,
    other_ca: Path,
    smtp: tuple[SmtpInbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    folders.deliver(citizen_mail("证书不受信任时到达的信。"))
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=folders, smtp=smtp,
        imap_options=over_imaps(imaps, other_ca),
    ) as desk:  # fmt: skip
        desk.poller.start()
        try:
            await _until(lambda: "email.mailbox_certificate_untrusted" in caplog.text)
        finally:
            await desk.poller.stop()
        assert await desk.nothing_written()
    record = next(r for r in caplog.records if "certificate_untrusted" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert "CERTIFICATE_VERIFY_FAILED" in record.getMessage()
    assert "channels.email.imap.ca_file" in record.getMessage()
    assert folders.count(criteria="UNSEEN") == 1
    section = email_section(
        imaps.port, 25, folders.config(), imap_options=over_imaps(imaps, server_cert[0])
    )
    config = EmailConfig.model_validate(section)
    with pytest.raises(MailboxUntrusted):  # the system's CAs do not know ours either
        async with Mailbox(config.imap.model_copy(update={"ca_file": ""}), config.folders):
            pass
    async with Mailbox(config.imap, config.folders) as box:  # trusted: the mail is all there
        [envelope] = await box.unseen(10)
        assert b"\xe8\xaf\x81\xe4\xb9\xa6" in (await box.fetch(envelope.uid) or b"")  # 证书


async def test_replies_go_out_over_starttls(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    server_cert: Pair,
    unused_tcp_port: int,
) -> None:
    options = {"security": "starttls", "ca_file": str(server_cert[0])}
    with smtp_server(unused_tcp_port, tls=server_cert, starttls=True) as inbox:
        async with mail_desk(
            tmp_path, database_url, analyzer, encoder, folders=folders,
            smtp=(inbox, unused_tcp_port), smtp_options=options,
        ) as desk:  # fmt: skip
            folders.deliver(citizen_mail("升级加密后发出回信。"))
            await desk.poll()
            assert await desk.send() == 1
    [ack] = inbox.messages
    assert "工单" in text_of(ack)


async def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
) -> None:
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=folders, smtp=smtp,
        smtp_options={"security": "starttls"},
    ) as desk:  # fmt: skip
        folders.deliver(citizen_mail("服务器不支持 STARTTLS。"))
        await desk.poll()
        report = await desk.pusher.run_once()
        assert (report.sent, report.failed) == (0, 1)
        [row] = await pushes(desk)
    assert row.status == PushStatus.PENDING
    assert "STARTTLS" in (row.last_error or "")
    assert smtp[0].mails == []  # nothing was sent in the clear


async def test_an_untrusted_smtp_certificate_is_an_error_and_the_reply_is_kept(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    server_cert: Pair,
    other_ca: Path,
    unused_tcp_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with smtp_server(unused_tcp_port, tls=server_cert) as inbox:
        async with mail_desk(
            tmp_path, database_url, analyzer, encoder, folders=folders,
            smtp=(inbox, unused_tcp_port),
            smtp_options={"security": "tls", "ca_file": str(other_ca)},
        ) as desk:  # fmt: skip
            folders.deliver(citizen_mail("回信服务器证书不受信任。"))
            await desk.poll()
            report = await desk.pusher.run_once()
            assert (report.sent, report.failed) == (0, 1)
            [row] = await pushes(desk)
            assert row.status == PushStatus.PENDING
            assert "channels.email.smtp.ca_file" in (row.last_error or "")
            assert inbox.mails == []
            # Once the right CA is given, the same reply goes out.
            database = desk.services.database
            async with database.session() as session:
                await session.execute(update(CitizenPush).values(next_attempt_at=utcnow()))
            trusted = SmtpSettings(
                host="127.0.0.1", port=unused_tcp_port, sender=OUR_ADDRESS, security="tls",
                ca_file=str(server_cert[0]),
            )  # fmt: skip
            pusher = EmailPusher(database, Postman(trusted, display_name="12345"))
            fixed = PushWorker(database, {"email": pusher}, WorkerSettings(), name="w2")
            assert (await fixed.run_once()).sent == 1
    [record] = [r for r in caplog.records if "smtp.certificate_untrusted" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "CERTIFICATE_VERIFY_FAILED" in record.getMessage()
    [ack] = inbox.messages
    assert "工单" in text_of(ack)


def test_the_mail_servers_security_is_checked_at_start(tmp_path: Path) -> None:
    from hotline.config import Config, parse_config
    from hotline.errors import ConfigError

    ca = self_signed(tmp_path, "ca")[0]
    imap = {"host": "imap.example.cn", "username": "12345", "password": "pw"}

    def config(dispatch: dict[str, Any], **email: Any) -> Config:
        email = {"enabled": True, "imap": imap, **email}
        channels = {"app": {"api_key": "k"}, "email": email}
        raw = {"channels": channels, "dispatch": {"smtp": dispatch}}
        return parse_config(raw, env={})

    refused = [
        ({"security": "tls", "port": 587}, r"dispatch\.smtp\.security: tls .* port 587"),
        ({"security": "plain", "port": 465}, r"dispatch\.smtp\.security: plain on port 465"),
        ({"security": "ssl"}, r"dispatch\.smtp\.security"),
        ({"security": "plain", "ca_file": str(ca)}, r"dispatch\.smtp\.ca_file: set while"),
        ({"security": "tls", "port": 465, "ca_file": str(tmp_path / "none.pem")},
         r"dispatch\.smtp\.ca_file: .*none\.pem is not a file"),
        ({"starttls": True}, r"dispatch\.smtp: the key starttls was replaced by security"),
    ]  # fmt: skip
    for dispatch, message in refused:
        with pytest.raises(ConfigError, match=message):
            config(dispatch)
    with pytest.raises(ConfigError, match=r"channels\.email\.imap\.security: starttls .* 993"):
        config({}, imap={**imap, "security": "starttls"})
    with pytest.raises(ConfigError, match=r"channels\.email\.smtp\.security: starttls .* 465"):
        config({}, smtp={"host": "smtp.example.cn", "port": 465})
    with pytest.raises(ConfigError, match=r"channels\.email\.smtp: the key starttls"):
        config({}, smtp={"host": "smtp.example.cn", "starttls": False})
    good = config(
        {"security": "tls", "port": 465, "ca_file": str(ca)},
        smtp={"host": "smtp.example.cn", "port": 465, "security": "tls"},
    )
    assert (good.dispatch.smtp.security, good.dispatch.smtp.ca_file) == ("tls", str(ca))
    assert good.channels.email.smtp.security == "tls"
    assert config({}).channels.email.smtp.security == "starttls"  # the default, on 587
    assert config({}).dispatch.smtp.security == "plain"  # a relay on this host, port 25
