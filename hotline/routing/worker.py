"""Delivering the outbox and watching deadlines: the work of ``hotline worker``.

Any number of worker processes may share one PostgreSQL database. A worker *claims* a batch of
due dispatches (``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never claim the same row),
writes a lease on them and commits; then it sends them, outside any transaction, and stores each
outcome only if it still holds the lease. A worker that dies leaves leased rows behind; when the
lease runs out another worker sends them again. The receiver can recognise such a repeat by its
``X-Hotline-Delivery`` header (see :mod:`hotline.routing.delivery`). On SQLite (one process) the
worker runs inside the server and ``BEGIN IMMEDIATE`` serialises the claims.

The same process runs the deadline sweep (:mod:`hotline.routing.sweep`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import StorageUnavailable
from hotline.routing.delivery import DeliveryFailed, Sender
from hotline.routing.sweep import DeadlineSweeper
from hotline.storage.db import Database
from hotline.storage.leases import Lease
from hotline.storage.models import (
    DeliveryMethod,
    Dispatch,
    DispatchStatus,
    Ticket,
    Unit,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int = 100
    #: parallel sends per batch
    concurrency: int = 32
    lease_seconds: float = 60.0
    max_attempts: int = 8
    backoff_base_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    #: how long to sleep when nothing was due
    poll_seconds: float = 1.0
    sweep_seconds: float = 30.0
    sweep_batch: int = 200


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def backoff(attempts: int, settings: WorkerSettings) -> timedelta:
    """Exponential, capped, with ±20 % jitter so failing units do not get a thundering herd."""
    seconds = min(settings.backoff_max_seconds, settings.backoff_base_seconds * 2 ** (attempts - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 (jitter)


@dataclass
class BatchReport:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0


@dataclass
class _Outcome:
    dispatch_id: int
    error: str | None


class DispatchWorker:
    """Claims, sends and settles outbox rows; ``senders`` maps a method to its sender."""

    def __init__(
        self,
        database: Database,
        senders: Mapping[DeliveryMethod, Sender],
        settings: WorkerSettings | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.database = database
        self.senders = dict(senders)
        self.settings = settings or WorkerSettings()
        self.name = name or worker_name()
        self._lease = Lease(Dispatch, self.name, self.settings.lease_seconds)

    async def run_once(self) -> BatchReport:
        """One batch: claim what is due, then send it chunk by chunk, storing each chunk's
        outcomes as soon as it is done (the shorter that window, the fewer repeats a killed
        worker causes)."""
        claimed = await self._claim()
        report = BatchReport(claimed=len(claimed))
        step = self.settings.concurrency
        for start in range(0, len(claimed), step):
            chunk = claimed[start : start + step]
            if start:
                # The batch was leased at once: a later chunk's lease may have run out while the
                # earlier ones were sent, and another worker may have taken (or sent) its rows.
                chunk = await self._renew(chunk)
                if not chunk:
                    continue
            outcomes = await asyncio.gather(*(self._attempt(d, u) for d, u in chunk))
            await self._settle(outcomes, {d.id: d.attempts for d, _ in chunk}, report)
        if report.failed or report.dead:
            log.warning(
                "dispatch.failures worker=%s failed=%d dead=%d",
                self.name,
                report.failed,
                report.dead,
            )
        return report

    async def _attempt(self, dispatch: Dispatch, unit: Unit) -> _Outcome:
        assert dispatch.id is not None
        sender = self.senders.get(DeliveryMethod(dispatch.method))
        if sender is None:
            return _Outcome(dispatch.id, f"no sender for method {dispatch.method}")
        try:
            await sender.send(dispatch, unit)
        except DeliveryFailed as e:
            return _Outcome(dispatch.id, str(e)[:500])
        except Exception as e:
            # A bug in a sender fails only this dispatch (retried, then dead-lettered). Raised out
            # of the gather it would leave the whole batch leased and unsettled, again and again.
            log.exception("dispatch.sender_error dispatch=%s", dispatch.id)
            return _Outcome(dispatch.id, f"{type(e).__name__}: {e}"[:500])
        return _Outcome(dispatch.id, None)

    async def _claim(self) -> list[tuple[Dispatch, Unit]]:
        """Lease up to a batch of due rows in one statement; others skip the locked ones."""
        methods = [m.value for m in self.senders]
        async with self.database.session() as session:
            rows = await self._lease.claim(
                session,
                limit=self.settings.batch_size,
                where=[col(Dispatch.method).in_(methods)],
            )
            if not rows:
                return []
            unit_ids = {row.unit_id for row in rows}
            found = await session.execute(select(Unit).where(col(Unit.id).in_(unit_ids)))
            units = {u.id: u for u in found.scalars()}
        return [(row, units[row.unit_id]) for row in rows]

    async def _renew(self, chunk: list[tuple[Dispatch, Unit]]) -> list[tuple[Dispatch, Unit]]:
        """Extend the lease on the rows of ``chunk`` this worker still holds: only those are due."""
        async with self.database.session() as session:
            held = await self._lease.renew(session, (d.id for d, _ in chunk))
        return [(d, u) for d, u in chunk if d.id in held]

    async def _settle(
        self, outcomes: Sequence[_Outcome], attempts: Mapping[int | None, int], report: BatchReport
    ) -> None:
        """Store outcomes, each only where this worker still holds the lease."""
        now = utcnow()
        delivered = [o.dispatch_id for o in outcomes if o.error is None]
        async with self.database.session() as session:
            stored = await self._lease.settle(
                session,
                delivered,
                status=DispatchStatus.DELIVERED,
                delivered_at=now,
                last_error=None,
            )
            report.delivered += len(stored)
            for outcome in outcomes:
                if outcome.error is None:
                    continue
                values: dict[str, object] = {"last_error": outcome.error}
                dead = attempts[outcome.dispatch_id] >= self.settings.max_attempts
                if dead:
                    values["status"] = DispatchStatus.DEAD
                else:
                    retry = backoff(attempts[outcome.dispatch_id], self.settings)
                    values["next_attempt_at"] = now + retry
                if not await self._lease.settle(session, [outcome.dispatch_id], **values):
                    continue  # the lease ran out and another worker has the row: its outcome counts
                if dead:
                    report.dead += 1
                    await self._record_dead(session, outcome)
                else:
                    report.failed += 1

    async def _record_dead(self, session: AsyncSession, outcome: _Outcome) -> None:
        """The ticket's history says its unit was never reached; supervisors list dead letters."""
        dispatch = await session.get(Dispatch, outcome.dispatch_id)
        if dispatch is None:
            return
        ticket = await session.get(Ticket, dispatch.ticket_id)
        if ticket is None:
            return
        log.error(
            "dispatch.dead ticket=%s dispatch=%s: %s", ticket.number, dispatch.id, outcome.error
        )
        await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="dispatch_dead",
            to_value=str(dispatch.id),
            note=f"{dispatch.kind} 经 {dispatch.method} 投递失败，已停止重试：{outcome.error}",
        )


class Worker:
    """Runs delivery and the deadline sweep until stopped; survives a database outage."""

    def __init__(self, dispatcher: DispatchWorker, sweeper: DeadlineSweeper | None) -> None:
        self.dispatcher = dispatcher
        self.sweeper = sweeper
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._deliver_loop(), name="dispatch-deliver")]
        if self.sweeper is not None:
            self._tasks.append(asyncio.create_task(self._sweep_loop(), name="dispatch-sweep"))
        log.info("worker.started name=%s", self.dispatcher.name)

    async def stop(self) -> None:
        """Let the current batch finish (its leases would otherwise delay a retry), then stop."""
        self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for sender in self.dispatcher.senders.values():
            await sender.close()
        log.info("worker.stopped name=%s", self.dispatcher.name)

    async def wait(self) -> None:
        await self._stop.wait()

    async def _deliver_loop(self) -> None:
        settings = self.dispatcher.settings
        while not self._stop.is_set():
            try:
                report = await self.dispatcher.run_once()
                busy = report.claimed == settings.batch_size
            except StorageUnavailable as e:
                log.error("worker.database_unavailable: %s", e)
                busy = False
            except Exception:
                log.exception("worker.batch_failed")
                busy = False
            if not busy:
                await self._pause(settings.poll_seconds)

    async def _sweep_loop(self) -> None:
        assert self.sweeper is not None
        interval = self.dispatcher.settings.sweep_seconds
        while not self._stop.is_set():
            try:
                await self.sweeper.sweep()
            except StorageUnavailable as e:
                log.error("worker.database_unavailable: %s", e)
            except Exception:
                log.exception("worker.sweep_failed")
            await self._pause(interval)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
