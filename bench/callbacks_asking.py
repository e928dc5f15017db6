"""Step 2 of ``bench/callbacks_load.py``: ``hotline worker`` processes ask the questions.

The callbacks planned in step 1 wait (due in 2100) until the workers have started and pushed the
results; then they fall due at once. The clock runs until every callback is asked and every
question handed to Twilio or Telegram; the checks count, per callback, the questions written
and the calls placed, and per vendor what arrived against what had to.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from callbacks_city import CLEAN_ENV, channel_of, expected_items, phone_of
from callbacks_vendors import Vendors
from sqlalchemy import func, select, update
from sqlmodel import col

from hotline.storage.db import Database
from hotline.storage.models import (
    CallbackStatus,
    CitizenPush,
    Message,
    PushStatus,
    SatisfactionCallback,
    Ticket,
)
from hotline.storage.types import utcnow


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    code = "from hotline.cli.main import main; main()"
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--no-sweep"],
            env={**CLEAN_ENV, "HOTLINE_CONFIG": str(config)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def counts(database: Database) -> dict[str, int]:
    """Callbacks by status and pushes still to send."""
    cb, push = SatisfactionCallback, CitizenPush
    async with database.read() as session:
        status = col(cb.status)
        found = await session.execute(select(status, func.count()).group_by(status))
        result = {str(s): int(n) for s, n in found.all()}
        waiting = select(func.count()).where(col(push.status) == PushStatus.PENDING)
        result["pushes_pending"] = int((await session.execute(waiting)).scalar_one())
    return result


async def ask_all(
    database: Database, vendors: Vendors, expected: dict[str, int], config: Path,
    args: argparse.Namespace, workdir: Path,
) -> dict[str, Any]:  # fmt: skip
    """Start the workers, let them push the results, then release the callbacks and time them."""
    logs = [workdir / f"w{i}.log" for i in range(args.workers)]
    workers = [start_worker(config, log) for log in logs]
    try:

        async def started() -> bool:
            return all(p.exists() and b"running" in p.read_bytes() for p in logs)

        async def results_pushed() -> bool:
            return (
                vendors.count("sms", "result") + vendors.count("telegram", "result")
                >= (expected["result_pushes"])
            )

        await wait_for(started, "the workers to start", 120)
        await wait_for(results_pushed, "the results to be pushed", args.timeout)
        async with database.session() as session:
            await session.execute(update(SatisfactionCallback).values(next_attempt_at=utcnow()))
        return await _timed_asking(database, vendors, expected, workers, args)
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(timeout=60)
        for log in logs:
            if b"Traceback" in log.read_bytes():
                print(f"{log.name}:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)


async def _timed_asking(
    database: Database, vendors: Vendors, expected: dict[str, int],
    workers: list[subprocess.Popen[bytes]], args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    """From the release until every callback is asked and every question handed to its vendor;
    the rate is taken from the first question asked (a worker may be in its poll pause when the
    callbacks fall due)."""
    released, start = utcnow(), time.monotonic()
    all_asked = killed_at = None
    handed_over, want = 0, expected["questions_by_vendor"]
    while time.monotonic() - start < args.timeout:
        await asyncio.sleep(0.2)
        now = await counts(database)
        handed_over = sum(vendors.count(r, k) for r, k in (("sms", "question"),
                          ("telegram", "question"), ("call", "callback")))  # fmt: skip
        if killed_at is None and args.kill_at and handed_over >= want * args.kill_at:
            workers[0].send_signal(signal.SIGKILL)
            killed_at = time.monotonic() - start
            print(f"killed worker 0 at {handed_over} handed over", file=sys.stderr)
        all_asked = all_asked or now.get(CallbackStatus.SCHEDULED, 0) == 0
        if all_asked and handed_over >= want and now["pushes_pending"] == 0:
            break
    cb = SatisfactionCallback
    async with database.read() as session:
        times = select(func.min(col(cb.updated_at)), func.max(col(cb.updated_at)))
        first, last = (await session.execute(times)).one()
    last = max(last, vendors.last_question_at or last)
    total = expected["callbacks"]
    return {
        "workers": args.workers,
        "killed_worker_at_s": None if killed_at is None else round(killed_at, 2),
        "callbacks": total,
        "first_asked_after_s": round((first - released).total_seconds(), 2),
        "all_handed_to_sender_after_s": round((last - released).total_seconds(), 2),
        "callbacks_asked_per_s": round(total / (last - first).total_seconds(), 1),
        "all_asked": bool(all_asked),
        "handed_to_vendor": handed_over,
    }


async def ask_checks(
    database: Database, vendors: Vendors, numbers: list[str], kill: bool
) -> dict[str, Any]:
    """Every callback asked exactly once (a question written, or a call placed), on its first
    route; without a kill, every result and question received once by its vendor (a killed
    worker's pushes in flight are sent again after their lease: see bench/README.md)."""
    cb = SatisfactionCallback
    async with database.read() as session:
        asked = (await session.execute(
            select(col(cb.id), col(cb.ticket_id), col(cb.status), col(cb.attempts),
                   col(Ticket.number)).join(Ticket, col(Ticket.id) == col(cb.ticket_id))
        )).all()  # fmt: skip
        ticket = col(Message.ticket_id)
        statement = (
            select(ticket, func.count())
            .where(col(Message.author) == "system:callback")
            .group_by(ticket)
        )
        questions: dict[int | None, int] = dict((await session.execute(statement)).tuples().all())
    calls: Counter[int | None] = Counter({int(w.split(":")[1]): n for (r, _, w), n
                                          in vendors.received.items() if r == "call"})  # fmt: skip
    times = Counter(questions.get(reporter, 0) + calls[i] for i, reporter, _, _, _ in asked)
    expected = expected_items(numbers) | {
        ("call", phone_of(int(n[1:])), f"callback:{i}")
        for i, _, _, _, n in asked
        if n.startswith("B") and channel_of(int(n[1:])) == "phone"
    }
    received = set(vendors.received)
    checks: dict[str, Any] = {
        "callbacks_awaiting": sum(1 for _, _, s, _, _ in asked if s == CallbackStatus.AWAITING),
        "asked_once": times[1],
        "not_asked": times[0],
        "asked_more_than_once": sum(n for k, n in times.items() if k > 1),
        "callbacks_by_attempts": dict(Counter(a for _, _, _, a, _ in asked)),
        "vendor_lost": len(expected - received),
        "vendor_repeats": vendors.repeats(),
        "vendor_unexpected": len(received - expected),
    }
    checks["ok"] = (
        checks["callbacks_awaiting"] == checks["asked_once"] == len(asked)
        and checks["callbacks_by_attempts"] == {1: len(asked)}
        and checks["vendor_lost"] == checks["vendor_unexpected"] == 0
    )
    if not kill:
        checks["ok"] = checks["ok"] and checks["vendor_repeats"] == 0
    return checks
