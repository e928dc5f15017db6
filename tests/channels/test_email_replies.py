"""What is written later to a mail citizen (an agent's reply, the resolution) reaches them by
mail through the push outbox, threaded under their mail; where the poller runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline.callbacks import wording
from hotline.callbacks.setup import build_callback_worker
from hotline.channels.email.outgoing import EmailPusher, Postman
from hotline.channels.push import PushWorker
from hotline.cli.main import cli
from hotline.intake import ticket_actions as actions
from hotline.routing.delivery import SmtpSettings
from hotline.routing.worker import WorkerSettings
from hotline.services import build_services, running_services
from hotline.storage.models import (
    CitizenPush,
    PushStatus,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
)
from hotline.storage.types import utcnow
from tests.channels.email_desk import MailDesk, email_section
from tests.channels.mail_servers import (
    OUR_ADDRESS,
    PASSWORD,
    USER,
    Folders,
    SmtpInbox,
    citizen_mail,
    free_port,
    smtp_server,
    text_of,
)
from tests.conftest import API_KEY, make_config, shipped_config_without_classifier


async def filed(desk: MailDesk) -> Ticket:
    desk.folders.deliver(citizen_mail("人民路积水严重。", message_id="<rain@example.com>"))
    await desk.poll()
    assert await desk.send() == 1  # the acknowledgement
    [ticket] = await desk.tickets()
    return ticket


async def test_an_agents_reply_and_the_resolution_reach_the_citizen_by_mail(
    desk: MailDesk,
) -> None:
    ticket = await filed(desk)
    assert ticket.conversation_id is not None
    pipeline = desk.services.pipeline
    await pipeline.send_agent_reply(
        conversation_id=ticket.conversation_id, text="已转交市政部门处理。", agent="a1"
    )
    async with desk.services.database.session() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        stored.status = TicketStatus.ACCEPTED  # as if a unit had accepted it (签收)
        _, notices = await actions.resolve(session, stored, actor="unit:sz", reply="已疏通排水口")
        for notice in notices:
            await pipeline.outgoing.write_to_citizen(
                session, conversation_id=notice.conversation_id, text=notice.text,
                author="agent:sz", ticket_id=notice.ticket.id,
            )  # fmt: skip
    assert await desk.send() == 2
    ack, *later = desk.smtp.messages
    # sent side by side: the server may receive them in either order
    [resolution] = [m for m in later if "办理结果" in text_of(m)]
    [reply] = [m for m in later if m is not resolution]
    for mail in (reply, resolution):
        assert mail["Subject"] == f"Re: 小区路灯坏了 [工单 {ticket.number}]"
        assert (mail["In-Reply-To"], mail["References"]) == ("<rain@example.com>",) * 2
        assert mail["Auto-Submitted"] is None  # written by people: may be answered
    ids = {m["Message-ID"] for m in (ack, reply, resolution)}
    assert len(ids) == 3
    assert "已转交市政部门处理。" in text_of(reply)
    assert "已疏通排水口" in text_of(resolution)
    assert ticket.number in text_of(resolution)


async def test_an_smtp_outage_is_retried(desk: MailDesk) -> None:
    ticket = await filed(desk)
    assert ticket.conversation_id is not None
    await desk.services.pipeline.send_agent_reply(
        conversation_id=ticket.conversation_id, text="第一条", agent="a1"
    )
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), sender=OUR_ADDRESS)
    pusher = EmailPusher(desk.services.database, Postman(nowhere, display_name="12345"))
    runner = PushWorker(desk.services.database, {"email": pusher}, WorkerSettings(), name="w2")
    report = await runner.run_once()
    assert (report.sent, report.failed) == (0, 1)
    async with desk.services.database.read() as session:
        [_, row] = (await session.execute(select(CitizenPush).order_by(CitizenPush.id))).scalars()
    assert row.status == PushStatus.PENDING
    assert "unreachable" in (row.last_error or "")


class _Refusing(SmtpInbox):
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 no such mailbox"


async def test_a_refused_address_is_dead_lettered_at_once(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    unused_tcp_port: int,
) -> None:
    from aiosmtpd.controller import Controller

    from tests.channels.email_desk import mail_desk

    refusing = _Refusing()
    controller = Controller(refusing, hostname="127.0.0.1", port=unused_tcp_port)
    controller.start()
    try:
        async with mail_desk(
            tmp_path, database_url, analyzer, encoder, folders=folders,
            smtp=(refusing, unused_tcp_port),
        ) as desk:  # fmt: skip
            desk.folders.deliver(citizen_mail("地址写错了的人。"))
            await desk.poll()
            report = await desk.pusher.run_once()
            assert (report.sent, report.dead) == (0, 1)
    finally:
        controller.stop()


async def test_hotline_serve_on_sqlite_polls_the_mailbox_itself(
    tmp_path: Path,
    analyzer: Any,
    encoder: Any,
    sqlite_template: Path,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
) -> None:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "hotline.db")
    email = email_section(folders.server.port, smtp[1], folders.config())
    config = make_config(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
        channels={"app": {"api_key": API_KEY}, "email": email},
        knowledge={"enabled": False}, dispatch={"embedded": "auto", "poll_seconds": 0.1},
    )  # fmt: skip
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    assert services.mail is not None
    assert services.pusher is not None
    async with running_services(services):
        folders.deliver(citizen_mail("serve 自己收信。"))
        for _ in range(300):
            if smtp[0].mails:
                break
            await asyncio.sleep(0.05)
    [ack] = smtp[0].messages
    assert "[工单 " in ack["Subject"]


def test_hotline_worker_polls_the_mailbox_and_sends_the_acknowledgement(
    database_url: str, tmp_path: Path, folders: Folders, unused_tcp_port: int
) -> None:
    """The PostgreSQL layout: a separate ``hotline worker`` takes the mail and answers it."""
    shipped = shipped_config_without_classifier(tmp_path).read_text(encoding="utf-8")
    changes = {
        "    enabled: false\n    address: 12345@hotline.invalid":
            "    enabled: true\n    address: 12345@city.example.cn",
        "      port: 993\n      security: tls": f"      port: {folders.server.port}\n"
                                                  "      security: plain",
        "      inbox: INBOX": f"      inbox: {folders.inbox}",
        '      host: ""\n      port: 587': f"      host: 127.0.0.1\n      port: {unused_tcp_port}",
        "      security: starttls ": "      security: plain ",
    }  # fmt: skip
    for old, new in changes.items():
        assert shipped.count(old) == 1, old
        shipped = shipped.replace(old, new)
    path = tmp_path / "email.yml"
    path.write_text(shipped, encoding="utf-8")
    env = {
        "HOTLINE_DATABASE_URL": database_url,
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_APP_API_KEY": API_KEY,
        "HOTLINE_CONFIG": str(path),
        "HOTLINE_EMAIL_IMAP_HOST": "127.0.0.1",
        "HOTLINE_EMAIL_USERNAME": USER,
        "HOTLINE_EMAIL_PASSWORD": PASSWORD,
    }
    runner = CliRunner()
    with smtp_server(unused_tcp_port) as inbox:
        init = runner.invoke(cli, ["init"], env=env)
        assert init.exit_code == 0, init.output
        folders.deliver(citizen_mail("由 worker 进程收取的信。"))
        result = runner.invoke(cli, ["worker", "--once"], env=env)
        assert result.exit_code == 0, result.output
    assert "mail: 1 tickets, 0 supplements, 0 ignored, 0 rejected" in result.output
    assert "pushed 1 to citizens" in result.output
    [ack] = inbox.messages
    assert "[工单 " in ack["Subject"]


def test_an_enabled_mailbox_needs_its_secrets() -> None:
    from hotline.config import parse_config
    from hotline.errors import ConfigError

    def config(**email: Any) -> None:
        parse_config({"channels": {"app": {"api_key": "k"}, "email": email}}, env={})

    imap = {"host": "imap.example.cn", "username": "12345", "password": "pw"}
    for key in imap:
        with pytest.raises(ConfigError, match=rf"channels\.email\.imap\.{key}"):
            config(enabled=True, imap={k: v for k, v in imap.items() if k != key})
    with pytest.raises(ConfigError, match=r"channels\.email\.smtp\.password"):
        config(enabled=True, imap=imap, smtp={"host": "smtp.example.cn", "username": "u"})
    with pytest.raises(ConfigError, match=r"channels\.email\.imap\.security"):
        config(enabled=True, imap={**imap, "security": "ssl"})
    config(enabled=True, imap=imap)
    config(imap={"security": "plain"})  # disabled: nothing is required


async def test_hotline_worker_once_still_works_with_the_mailbox_down(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    smtp: tuple[SmtpInbox, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hotline.channels.email.imap import MailboxError
    from hotline.routing.worker_cli import _poll_once
    from tests.channels.email_desk import mail_desk
    from tests.channels.mail_servers import ImapServer

    nowhere = Folders(ImapServer())  # never started
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=nowhere, smtp=smtp
    ) as desk:
        with pytest.raises(MailboxError):
            await desk.poll()
        await _poll_once(desk.poller)  # the worker goes on to dispatches and pushes
    assert "mail: not polled: IMAP 127.0.0.1:" in capsys.readouterr().err


async def test_a_satisfaction_callback_by_mail_is_answered_by_mail(desk: MailDesk) -> None:
    ticket = await filed(desk)
    services = desk.services
    assert services.callbacks is not None
    async with services.database.session() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None
        stored.status = TicketStatus.ACCEPTED
        await actions.resolve(session, stored, actor="unit:sz", reply="已疏通排水口")
        [planned] = await services.callbacks.schedule(session, stored)
        assert [r["channel"] for r in planned.routes] == ["email"]
    asker = build_callback_worker(
        services.config, services.callbacks, services.pipeline.outgoing, name="t"
    )
    daytime = services.callbacks.settings.next_window(utcnow() + timedelta(hours=2))
    assert (await asker.run_once(now=daytime)).asked == 1
    assert await desk.send() == 1
    question = desk.smtp.messages[-1]
    assert question["Subject"] == f"Re: 小区路灯坏了 [工单 {ticket.number}]"
    assert wording.question(ticket.number) in text_of(question)
    answer = citizen_mail(
        "不满意，下雨还是积水\n\n------------------ 原始邮件 ------------------\n"
        + text_of(question),
        subject=f"回复：{question['Subject']}",
        In_Reply_To=question["Message-ID"],
    )
    desk.folders.deliver(answer)
    report = await desk.poll()
    assert (report.rated, report.supplemented, report.created) == (1, 0, 0)
    assert await desk.send() == 1  # the reply to the rating
    # no unit ever held this ticket (no routing here), so 不满意 goes to supervisors (督办)
    assert wording.ESCALATED in text_of(desk.smtp.messages[-1])
    async with services.database.read() as session:
        rated = (await session.execute(select(SatisfactionCallback))).scalar_one()
        reopened = await session.get(Ticket, ticket.id)
    assert (rated.rating, rated.reason, rated.answered_via) == (
        "unsatisfied", "下雨还是积水", "message:email",
    )  # fmt: skip
    assert reopened is not None
    assert reopened.status == TicketStatus.RESOLVED
    desk.folders.deliver(answer)  # the same mail again: rated once, answered once
    assert (await desk.poll()).rated == 0
    assert await desk.send() == 0
