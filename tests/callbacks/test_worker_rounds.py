"""The callback worker's rounds, as bench/callbacks_load.py found them wanting.

A running worker works through a backlog batch after batch, without waiting ``poll_seconds``
between full batches: everything resolved overnight falls due at once when the hours citizens
may be asked begin. A batch of calls placed one after another through a slow telephony
provider keeps its lease, so another worker does not ask the same citizens again. And a batch
left by a worker killed before it asked is asked on its first route, not the next one.
"""

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlmodel import col

from hotline.callbacks.plan import Reach
from hotline.callbacks.service import Callbacks
from hotline.callbacks.settings import CallbackSettings
from hotline.callbacks.worker import CallbackWorker
from hotline.services import Services
from hotline.storage.leases import Lease
from hotline.storage.models import (
    CallbackStatus,
    Citizen,
    Conversation,
    SatisfactionCallback,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.callbacks.conftest import worker_for

BACKLOG = 5


async def _plan_backlog(
    services: Services,
    callbacks: Callbacks | None = None,
    *,
    count: int = BACKLOG,
    channel: str = "app",
) -> None:
    """``count`` citizens' tickets just resolved, their callbacks due now; on ``phone`` they
    called in (and are called back)."""
    callbacks = callbacks or services.callbacks
    assert callbacks is not None
    async with services.database.session() as session:
        for i in range(count):
            citizen = Citizen()
            session.add(citizen)
            await session.flush()
            assert citizen.id is not None
            phone = f"1380013{i:04d}"
            address = f"+86{phone}" if channel == "phone" else f"u{i}"
            conversation = Conversation(citizen_id=citizen.id, channel=channel, address=address)
            session.add(conversation)
            ticket = Ticket(
                number=f"2026120600{i:03d}",
                citizen_id=citizen.id,
                conversation_id=conversation.id,
                channel=channel,
                title="路灯不亮",
                description="路灯坏了",
                contact_phone=phone if channel == "phone" else None,
                status=TicketStatus.RESOLVED,
            )
            await ticket_repo.add(session, ticket, actor="citizen")
            await callbacks.schedule(session, ticket)


async def _count(services: Services, status: CallbackStatus) -> int:
    async with services.database.read() as session:
        statement = select(func.count()).where(SatisfactionCallback.status == status)
        return int((await session.execute(statement)).scalar_one())


async def _run_until(services: Services, status: CallbackStatus) -> int:
    """Run a worker leasing 2 at a time and polling once a minute; the count with ``status``
    once all ``BACKLOG`` have it, or after 5 seconds."""
    worker = worker_for(services)
    worker.batch_size, worker.poll_seconds = 2, 60.0
    worker.start()
    try:
        for _ in range(100):
            if await _count(services, status) == BACKLOG:
                break
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    return await _count(services, status)


async def test_a_backlog_is_asked_without_a_pause_after_each_full_batch(
    services: Services,
) -> None:
    await _plan_backlog(services)
    assert await _run_until(services, CallbackStatus.AWAITING) == BACKLOG


async def test_a_backlog_of_expired_questions_is_ended_without_a_pause_either(
    services: Services,
) -> None:
    await _plan_backlog(services)
    async with services.database.session() as session:
        await session.execute(
            update(SatisfactionCallback).values(
                status=CallbackStatus.AWAITING,
                attempts=1,
                expires_at=utcnow() - timedelta(minutes=1),
            )
        )
    # asked again after callbacks.retry_after: scheduled, not asked in this run
    assert await _run_until(services, CallbackStatus.SCHEDULED) == BACKLOG


class SlowCaller:
    """A telephony provider that takes ``seconds`` to place each call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.placed: list[int] = []

    async def place(self, *, to: str, callback_id: int) -> str:
        await asyncio.sleep(self.seconds)
        self.placed.append(callback_id)
        return f"CA{callback_id}"

    async def close(self) -> None:
        pass


async def test_a_slow_provider_does_not_let_another_worker_call_the_same_citizens(
    services: Services,
) -> None:
    # 10 calls of 0.3 s take longer than the 2 s lease they were claimed under
    settings = CallbackSettings(delay=timedelta(0), first_hour=0, last_hour=24)
    callbacks = Callbacks(services.database, settings, Reach(calls=True))
    await _plan_backlog(services, callbacks, count=10, channel="phone")
    caller = SlowCaller(0.3)
    workers = [
        CallbackWorker(
            services.database,
            settings,
            writer=services.pipeline.outgoing,
            caller=caller,
            name=name,
            batch_size=10,
            lease_seconds=2.0,
        )
        for name in ("slow", "other")
    ]
    first = asyncio.create_task(workers[0].run_once())
    await asyncio.sleep(0.1)
    while not first.done():  # the other worker polls meanwhile
        await workers[1].run_once()
        await asyncio.sleep(0.1)
    await first
    assert await _count(services, CallbackStatus.AWAITING) == 10
    assert sorted(caller.placed) == sorted(set(caller.placed))  # nobody called twice
    assert len(caller.placed) == 10


async def test_a_batch_left_by_a_killed_worker_is_asked_on_its_first_route(
    services: Services,
) -> None:
    """bench/callbacks_load.py --kill-at: the attempt was counted when a worker leased the row,
    so a worker killed before asking moved its batch on to the second route (phone callers
    texted instead of called). Only a lease that ended with the question asked counts."""
    settings = CallbackSettings(delay=timedelta(0), first_hour=0, last_hour=24)
    callbacks = Callbacks(services.database, settings, Reach(calls=True, sms=True))
    await _plan_backlog(services, callbacks, count=3, channel="phone")  # a call, then SMS
    now = utcnow()
    async with services.database.session() as session:  # leased, then the worker was killed
        killed = Lease(SatisfactionCallback, "killed", 60.0, pending=CallbackStatus.SCHEDULED)
        assert len(await killed.claim(session, limit=50, now=now)) == 3
    caller = SlowCaller(0)
    survivor = CallbackWorker(
        services.database, settings, writer=services.pipeline.outgoing, caller=caller,
        name="survivor", lease_seconds=60.0,
    )  # fmt: skip
    assert (await survivor.run_once(now + timedelta(seconds=30))).claimed == 0  # still leased
    report = await survivor.run_once(now + timedelta(seconds=61))
    assert (report.claimed, report.called, report.asked) == (3, 3, 0)
    async with services.database.read() as session:
        rows = (await session.execute(select(SatisfactionCallback))).scalars().all()
        asked = select(col(TicketEvent.note)).where(col(TicketEvent.action) == "callback_asked")
        notes = (await session.execute(asked)).scalars().all()
    assert sorted(caller.placed) == sorted(r.id for r in rows)
    assert {(r.status, r.method, r.attempts) for r in rows} == {
        (CallbackStatus.AWAITING, "call", 1)
    }
    assert [note[:5] for note in notes] == ["第1次回访"] * 3
