"""The outbox under stress: redirects, huge answers, a sender that breaks, leases that run out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from email.header import decode_header, make_header

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from sqlalchemy import update

from hotline.intake import ticket_actions as actions
from hotline.routing.delivery import DeliveryFailed, EmailSender, SmtpSettings, WebhookSender
from hotline.routing.worker import DispatchWorker, WorkerSettings
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.models import DeliveryMethod, Dispatch, DispatchStatus, Unit
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.routing.dispatch_helpers import Receiver, dispatches, events, new_ticket, set_delivery
from tests.routing.test_dispatch import _Inbox

ONE_TRY = WorkerSettings(max_attempts=1)


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


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    webhook = WebhookSender(timeout_seconds=3)
    yield webhook
    await webhook.close()


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _assigned(database: Database, count: int, unit: str = "LJ-CG") -> None:
    async with database.session() as session:
        for i in range(count):
            await new_ticket(session, f"20261122{i:05d}", unit_code=unit)


# --- webhook answers ------------------------------------------------------------------------


async def test_a_redirect_is_not_a_delivery(units: Database, sender: WebhookSender) -> None:
    """aiohttp would follow a 302 with a GET (dropping the body) and call the 200 a success."""
    landing_hits = 0

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound("/landing")

    async def landing(_: web.Request) -> web.Response:
        nonlocal landing_hits
        landing_hits += 1
        return web.Response(text="welcome")

    app = web.Application()
    app.router.add_post("/hook", moved)
    app.router.add_get("/landing", landing)
    runner, base = await _serve(app)
    try:
        await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=f"{base}/hook")
        await _assigned(units, 1)
        report = await DispatchWorker(units, {DeliveryMethod.WEBHOOK: sender}).run_once()
    finally:
        await runner.cleanup()
    assert (report.delivered, report.failed) == (0, 1)
    assert landing_hits == 0
    [row] = await dispatches(units)
    assert row.status == DispatchStatus.PENDING
    assert "HTTP 302" in (row.last_error or "")


async def test_a_huge_error_answer_is_not_read_to_the_end(
    units: Database, sender: WebhookSender
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=500)
        await response.prepare(request)
        chunk = b"x" * 65536
        for _ in range(2000):  # ~128 MB at most, trickled so the test machine is not flooded
            try:
                await response.write(chunk)
            except (ConnectionResetError, RuntimeError):
                break
            await asyncio.sleep(0.005)
        return response

    app = web.Application()
    app.router.add_post("/hook", endless)
    runner, base = await _serve(app)
    try:
        await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=f"{base}/hook")
        await _assigned(units, 1)
        started = time.monotonic()
        report = await DispatchWorker(units, {DeliveryMethod.WEBHOOK: sender}).run_once()
        elapsed = time.monotonic() - started
    finally:
        await runner.cleanup()
    assert report.failed == 1
    [row] = await dispatches(units)
    assert "HTTP 500" in (row.last_error or "")
    assert elapsed < 2  # the 3 s timeout was not needed to get the status


# --- a sender that breaks -------------------------------------------------------------------


class _Breaking:
    """Raises an unexpected error (not DeliveryFailed) for one ticket, delivers the others."""

    def __init__(self, inner: WebhookSender, number: str) -> None:
        self.inner, self.number = inner, number

    async def send(self, dispatch: Dispatch, unit: Unit) -> None:
        if dispatch.payload["ticket"]["number"] == self.number:
            raise ValueError("a bug in a sender")
        await self.inner.send(dispatch, unit)

    async def close(self) -> None:
        await self.inner.close()


async def test_a_sender_bug_fails_one_dispatch_not_the_batch(
    units: Database, receiver: Receiver, sender: WebhookSender
) -> None:
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await _assigned(units, 3)
    breaking = _Breaking(sender, "2026112200001")
    worker = DispatchWorker(units, {DeliveryMethod.WEBHOOK: breaking}, ONE_TRY)
    report = await worker.run_once()
    assert (report.delivered, report.dead) == (2, 1)
    rows = {r.payload["ticket"]["number"]: r for r in await dispatches(units)}
    broken = rows.pop("2026112200001")
    assert broken.status == DispatchStatus.DEAD
    assert broken.locked_by is None
    assert "ValueError" in (broken.last_error or "")
    assert all(r.status == DispatchStatus.DELIVERED for r in rows.values())
    assert (await events(units, "2026112200001"))[-1].action == "dispatch_dead"
    assert sorted(receiver.deliveries.values()) == [1, 1]


async def test_an_email_for_a_title_with_a_line_break_is_sent(
    units: Database, unused_tcp_port: int
) -> None:
    """A letter's title (市长信箱) may hold a line break; it must not break the Subject header."""
    inbox = _Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=unused_tcp_port)
    server.start()
    try:
        await set_delivery(units, "LJ-CG", DeliveryMethod.EMAIL, email="gongdan@cg.example.cn")
        async with units.session() as session:
            ticket = await new_ticket(session, "2026112200001")
            ticket.title = "路灯不亮\n请尽快处理"
            await ticket_repo.touch(session, ticket)
            await actions.assign(session, ticket, actor="agent:a", unit_code="LJ-CG", due_at=None)
        email = EmailSender(SmtpSettings(host="127.0.0.1", port=unused_tcp_port))
        report = await DispatchWorker(units, {DeliveryMethod.EMAIL: email}).run_once()
    finally:
        server.stop()
    assert report.delivered == 1
    [message] = inbox.messages
    subject = str(make_header(decode_header(message["Subject"])))
    assert "路灯不亮 请尽快处理" in subject


# --- leases that run out --------------------------------------------------------------------

Hook = Callable[[Dispatch], Awaitable[None]]


class _Hooked:
    """Runs ``before`` / ``after`` around the n-th send; ``fail`` makes that send fail."""

    def __init__(
        self, inner: WebhookSender, *, nth: int = 1, before: Hook | None = None,
        after: Hook | None = None, fail: bool = False,
    ) -> None:  # fmt: skip
        self.inner, self.nth, self.before, self.after, self.fail = inner, nth, before, after, fail
        self.calls = 0

    async def send(self, dispatch: Dispatch, unit: Unit) -> None:
        self.calls += 1
        hooked = self.calls == self.nth
        if hooked and self.before is not None:
            await self.before(dispatch)
        await self.inner.send(dispatch, unit)
        if hooked and self.after is not None:
            await self.after(dispatch)
        if hooked and self.fail:
            raise DeliveryFailed("TimeoutError posting: the answer came too late")

    async def close(self) -> None:
        await self.inner.close()


async def _expire_leases(database: Database, *, of: str, but: int | None = None) -> None:
    async with database.session() as session:
        statement = update(Dispatch).where(Dispatch.locked_by == of)
        if but is not None:
            statement = statement.where(Dispatch.id != but)
        await session.execute(statement.values(locked_until=utcnow()))


async def test_rows_whose_lease_ran_out_before_their_chunk_are_not_sent_again(
    units: Database, receiver: Receiver, sender: WebhookSender
) -> None:
    """While chunk 1 was in flight the later chunks' leases ran out and worker B took them."""
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await _assigned(units, 4)
    other = WebhookSender(timeout_seconds=3)
    b = DispatchWorker(units, {DeliveryMethod.WEBHOOK: other}, name="B")

    async def lease_runs_out(current: Dispatch) -> None:
        await _expire_leases(units, of="A", but=current.id)
        assert (await b.run_once()).delivered == 3

    hooked = _Hooked(sender, after=lease_runs_out)
    settings = WorkerSettings(batch_size=4, concurrency=1)
    a = DispatchWorker(units, {DeliveryMethod.WEBHOOK: hooked}, settings, name="A")
    try:
        report = await a.run_once()
    finally:
        await other.close()
    assert report.delivered == 1
    assert len(receiver.deliveries) == 4
    assert max(receiver.deliveries.values()) == 1
    assert all(r.status == DispatchStatus.DELIVERED for r in await dispatches(units))


async def test_a_failure_after_the_lease_was_lost_writes_no_dead_letter(
    units: Database, receiver: Receiver, sender: WebhookSender
) -> None:
    """A's send timed out after its lease ran out; B delivered the row meanwhile."""
    await set_delivery(units, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
    await _assigned(units, 1)
    other = WebhookSender(timeout_seconds=3)
    b = DispatchWorker(units, {DeliveryMethod.WEBHOOK: other}, name="B")

    async def lease_runs_out(_: Dispatch) -> None:
        await _expire_leases(units, of="A")
        assert (await b.run_once()).delivered == 1

    hooked = _Hooked(sender, before=lease_runs_out, fail=True)
    a = DispatchWorker(units, {DeliveryMethod.WEBHOOK: hooked}, ONE_TRY, name="A")
    try:
        report = await a.run_once()
    finally:
        await other.close()
    assert report.dead == 0
    [row] = await dispatches(units)
    assert row.status == DispatchStatus.DELIVERED
    history = [e.action for e in await events(units, "2026112200000")]
    assert "dispatch_dead" not in history
