"""The dispatch outbox: written with the change, delivered by workers, retried, dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from hotline.routing.delivery import (
    DeliveryFailed,
    EmailSender,
    SmtpSettings,
    WebhookSender,
    body_of,
    sign,
    verify,
)
from hotline.routing.worker import DispatchWorker, Worker, WorkerSettings, backoff
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.models import DeliveryMethod, Dispatch, DispatchKind, DispatchStatus
from hotline.storage.types import utcnow
from tests.routing.dispatch_helpers import (
    SECRET,
    Receiver,
    dispatches,
    events,
    new_ticket,
    set_delivery,
)

FAST = WorkerSettings(backoff_base_seconds=0.01, backoff_max_seconds=0.05, max_attempts=3)
SLOW_RETRY = WorkerSettings(backoff_base_seconds=60, max_attempts=3)


@pytest.fixture
async def units(database: Database) -> Database:
    async with database.session() as session:
        await load_units(session)
    return database


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = await Receiver().start()
    yield hook
    await hook.stop()


_SENDERS: list[WebhookSender] = []


@pytest.fixture(autouse=True)
async def _close_senders() -> AsyncIterator[None]:
    yield
    while _SENDERS:
        await _SENDERS.pop().close()


def webhook_worker(
    database: Database, settings: WorkerSettings = FAST, **kw: Any
) -> DispatchWorker:
    sender = WebhookSender(timeout_seconds=2)
    _SENDERS.append(sender)
    return DispatchWorker(database, {DeliveryMethod.WEBHOOK: sender}, settings, **kw)


async def assigned(database: Database, number: str, unit: str = "LJ-CG") -> None:
    async with database.session() as session:
        await new_ticket(session, number, unit_code=unit)


async def make_due_now(database: Database) -> None:
    async with database.session() as session:
        await session.execute(update(Dispatch).values(next_attempt_at=utcnow()))


# --- the outbox row -------------------------------------------------------------------------


async def test_an_assignment_queues_one_dispatch_for_the_units_method(units: Database) -> None:
    await assigned(units, "2026112200001")
    [row] = await dispatches(units)
    assert (row.kind, row.method, row.status) == (
        DispatchKind.DISPATCHED,
        DeliveryMethod.PULL,
        DispatchStatus.PENDING,
    )
    assert row.payload["ticket"]["number"] == "2026112200001"
    assert row.payload["unit"]["code"] == "LJ-CG"
    assert row.payload["reason"].startswith("派至")


async def test_a_rolled_back_change_leaves_no_dispatch(units: Database) -> None:
    async def failing_request() -> None:
        async with units.session() as session:
            await new_ticket(session, "2026112200001", unit_code="LJ-CG")
            raise RuntimeError("the request failed after routing")

    with pytest.raises(RuntimeError):
        await failing_request()
    assert await dispatches(units) == []


async def test_the_same_event_cannot_be_queued_twice_for_a_unit(units: Database) -> None:
    await assigned(units, "2026112200001")
    [row] = await dispatches(units)

    async def enqueue_again() -> None:
        async with units.session() as session:
            session.add(
                Dispatch(
                    ticket_id=row.ticket_id,
                    unit_id=row.unit_id,
                    event_id=row.event_id,
                    kind=row.kind,
                    method=row.method,
                    payload={},
                )
            )

    with pytest.raises(IntegrityError):
        await enqueue_again()
    assert len(await dispatches(units)) == 1


# --- webhook ---------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = body_of({"ticket": {"number": "1"}}, 7)
    header = sign(SECRET, body)
    assert header.startswith("sha256=")
    assert len(header) == 7 + 64
    assert verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("another secret", body, header)
    assert not verify(SECRET, body, None)


async def test_webhook_delivers_signed_once(units: Database, receiver: Receiver) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await assigned(units, "2026112200001")
    worker = webhook_worker(units)
    report = await worker.run_once()
    assert (report.claimed, report.delivered) == (1, 1)
    assert receiver.bad_signatures == 0
    [got] = receiver.received
    assert got["event"] == "ticket.dispatched"
    assert got["ticket"]["number"] == "2026112200001"
    assert got["ticket"]["contact_phone"] == "13912345678"
    [row] = await dispatches(units)
    assert row.status == DispatchStatus.DELIVERED
    assert row.delivered_at is not None
    assert row.locked_by is None
    assert row.attempts == 1
    assert got["delivery"] == str(row.id) == str(got["delivery_id"])
    # Nothing is due any more: a second pass sends nothing.
    assert (await worker.run_once()).claimed == 0
    assert sum(receiver.deliveries.values()) == 1


async def test_failures_back_off_then_dead_letter_with_history(
    units: Database, receiver: Receiver
) -> None:
    receiver.status = 503
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await assigned(units, "2026112200001")
    worker = webhook_worker(units, SLOW_RETRY)
    first = await worker.run_once()
    assert (first.failed, first.dead) == (1, 0)
    [row] = await dispatches(units)
    assert row.status == DispatchStatus.PENDING
    assert row.next_attempt_at > utcnow()
    assert row.last_error is not None
    assert "HTTP 503" in row.last_error
    assert (await worker.run_once()).claimed == 0  # not due before its backoff
    for _ in range(2):
        await make_due_now(units)
        await worker.run_once()
    [row] = await dispatches(units)
    assert (row.status, row.attempts) == (DispatchStatus.DEAD, 3)
    history = await events(units, "2026112200001")
    assert history[-1].action == "dispatch_dead"
    assert "HTTP 503" in (history[-1].note or "")
    await make_due_now(units)
    assert (await worker.run_once()).claimed == 0  # dead letters stay dead


async def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(
    units: Database, receiver: Receiver
) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url, secret="wrong")
    await assigned(units, "2026112200001")
    report = await webhook_worker(units).run_once()
    assert report.failed == 1
    assert receiver.bad_signatures == 1
    assert receiver.received == []


async def test_unreachable_endpoint_and_missing_settings_fail_clearly(units: Database) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url="http://127.0.0.1:9/hook")
    await set_delivery(units, "LJ-HB", DeliveryMethod.WEBHOOK, url=None)
    await assigned(units, "2026112200001", "LJ-CG")
    await assigned(units, "2026112200002", "LJ-HB")
    report = await webhook_worker(units).run_once()
    assert report.failed == 2
    errors = sorted(row.last_error or "" for row in await dispatches(units))
    assert "posting to http://127.0.0.1:9/hook" in errors[0]
    assert "has no webhook url" in errors[1]


def test_backoff_grows_and_is_capped() -> None:
    settings = WorkerSettings(backoff_base_seconds=10, backoff_max_seconds=100)
    first, third, tenth = (backoff(n, settings).total_seconds() for n in (1, 3, 10))
    assert 8 <= first <= 12
    assert 32 <= third <= 48
    assert 80 <= tenth <= 120


# --- leases and several workers --------------------------------------------------------------


async def test_a_leased_row_waits_for_its_lease_to_run_out(
    units: Database, receiver: Receiver
) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await assigned(units, "2026112200001")
    async with units.session() as session:
        await session.execute(
            update(Dispatch).values(locked_by="dead-worker", locked_until=utcnow() + timedelta(1))
        )
    worker = webhook_worker(units)
    assert (await worker.run_once()).claimed == 0
    async with units.session() as session:
        await session.execute(update(Dispatch).values(locked_until=utcnow()))
    assert (await worker.run_once()).delivered == 1
    assert len(receiver.received) == 1


async def test_two_workers_share_the_work_without_sending_twice(
    database_url: str, units: Database, receiver: Receiver
) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    async with units.session() as session:
        for i in range(60):
            await new_ticket(session, f"20261122{i:05d}", unit_code="LJ-CG")
    other = Database(database_url)
    settings = WorkerSettings(batch_size=7, concurrency=4)
    workers = [
        webhook_worker(units, settings, name="w1"),
        webhook_worker(other, settings, name="w2"),
    ]

    async def drain(worker: DispatchWorker) -> int:
        sent = 0
        while (report := await worker.run_once()).claimed:
            sent += report.delivered
        return sent

    try:
        counts = await asyncio.gather(*(drain(w) for w in workers))
    finally:
        await other.dispose()
    assert sum(counts) == 60
    assert len(receiver.deliveries) == 60
    assert max(receiver.deliveries.values()) == 1
    assert all(r.status == DispatchStatus.DELIVERED for r in await dispatches(units))


async def test_the_worker_loop_survives_a_database_that_is_down() -> None:
    down = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    runner = Worker(webhook_worker(down, WorkerSettings(poll_seconds=0.05)), None)
    runner.start()
    await asyncio.sleep(0.3)
    assert all(not t.done() for t in runner._tasks)  # still looping, not crashed
    await runner.stop()
    await down.dispose()


async def test_the_embedded_loop_delivers_what_is_queued(
    units: Database, receiver: Receiver
) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    runner = Worker(webhook_worker(units, WorkerSettings(poll_seconds=0.05)), None)
    runner.start()
    try:
        await assigned(units, "2026112200001")
        for _ in range(100):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    assert [r["ticket"]["number"] for r in receiver.received] == ["2026112200001"]


# --- e-mail ----------------------------------------------------------------------------------


class _Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


async def test_email_reaches_a_real_smtp_server(units: Database, unused_tcp_port: int) -> None:
    inbox = _Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port)
    server.start()
    try:
        await set_delivery(units, "LJ-CG", DeliveryMethod.EMAIL, email="gongdan@cg.example.cn")
        await assigned(units, "2026112200001")
        sender = EmailSender(SmtpSettings(host="127.0.0.1", port=unused_tcp_port))
        worker = DispatchWorker(units, {DeliveryMethod.EMAIL: sender}, FAST)
        assert (await worker.run_once()).delivered == 1
    finally:
        server.stop()
    [message] = inbox.messages
    assert message["To"] == "gongdan@cg.example.cn"
    subject = str(make_header(decode_header(message["Subject"])))
    assert "2026112200001" in subject
    assert "派单" in subject
    text = message.get_payload()[0].get_payload(decode=True).decode()
    assert "望江路18号" in text
    assert "13912345678" in text


async def test_email_over_implicit_tls_and_an_untrusted_certificate(
    units: Database, unused_tcp_port: int, tmp_path: Path
) -> None:
    from tests.channels.mail_servers import self_signed, smtp_server

    cert = self_signed(tmp_path, "smtps")
    await set_delivery(units, "LJ-CG", DeliveryMethod.EMAIL, email="gongdan@cg.example.cn")
    await assigned(units, "2026112200001")
    smtps = SmtpSettings(host="127.0.0.1", port=unused_tcp_port, security="tls")
    with smtp_server(unused_tcp_port, tls=cert) as inbox:
        untrusted = DispatchWorker(units, {DeliveryMethod.EMAIL: EmailSender(smtps)}, FAST)
        assert (await untrusted.run_once()).failed == 1  # the system's CAs do not know it
        [row] = await dispatches(units)
        assert "is not trusted" in (row.last_error or "")
        assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
        assert inbox.mails == []
        await asyncio.sleep(0.1)  # past the backoff
        trusted = EmailSender(replace(smtps, ca_file=str(cert[0])))
        worker = DispatchWorker(units, {DeliveryMethod.EMAIL: trusted}, FAST)
        assert (await worker.run_once()).delivered == 1
    [(_, rcpt_tos, _)] = inbox.mails
    assert rcpt_tos == ["gongdan@cg.example.cn"]


async def test_email_to_a_closed_port_fails_and_is_retried(units: Database) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.EMAIL, email="gongdan@cg.example.cn")
    await assigned(units, "2026112200001")
    sender = EmailSender(SmtpSettings(host="127.0.0.1", port=9, timeout_seconds=2))
    worker = DispatchWorker(units, {DeliveryMethod.EMAIL: sender}, FAST)
    assert (await worker.run_once()).failed == 1
    [row] = await dispatches(units)
    assert row.status == DispatchStatus.PENDING
    assert "sending to gongdan@" in (row.last_error or "")


async def test_email_without_address_fails_clearly(units: Database) -> None:
    await assigned(units, "2026112200001")
    [row] = await dispatches(units)
    async with units.read() as session:
        from hotline.storage.repos import units as unit_repo

        unit = await unit_repo.by_code(session, code="LJ-CG")
    with pytest.raises(DeliveryFailed, match="no e-mail address"):
        await EmailSender(SmtpSettings()).send(row, unit)
