"""Dispatch throughput with several ``hotline worker`` processes on PostgreSQL, one killed.

    .venv/bin/python bench/dispatch_workers.py [--tickets 20000] [--workers 2] \
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Creates a scratch database beside the given one, loads the sample units, points every unit at
a webhook receiver in this process (which checks each HMAC signature and counts deliveries by
``X-Hotline-Delivery``), queues one dispatch per ticket through the real outbox code, then starts
the workers and SIGKILLs the first one when a third of the tickets have arrived. It reports
throughput, losses (dispatches never received or never marked delivered) and repeats (a delivery
id received more than once: the killed worker's batch in flight, sent again once its lease ran
out). The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from scratch import admin  # bench/scratch.py
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from hotline.routing import outbox
from hotline.routing.delivery import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.migrate import upgrade
from hotline.storage.models import (
    Citizen,
    DeliveryMethod,
    Dispatch,
    DispatchKind,
    DispatchStatus,
    Ticket,
    TicketStatus,
    Unit,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

SECRET = "bench-webhook-secret"
HELD = datetime(2100, 1, 1, tzinfo=UTC)


class Receiver:
    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.bad = 0
        self.first_at: float | None = None
        self.last_at = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(SECRET, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad += 1
            return web.Response(status=401)
        self.deliveries[request.headers[DELIVERY_HEADER]] += 1
        now = time.monotonic()
        self.first_at = self.first_at or now
        self.last_at = now
        return web.Response(status=204)


async def seed(database: Database, tickets: int, hook: str) -> None:
    async with database.session() as session:
        await load_units(session, env={})
        await session.execute(
            update(Unit).values(
                delivery_method=DeliveryMethod.WEBHOOK, webhook_url=hook, webhook_secret=SECRET
            )
        )
    async with database.read() as session:
        units = list((await session.execute(select(Unit))).scalars())
    made = 0
    while made < tickets:
        async with database.session() as session:
            for _ in range(min(500, tickets - made)):
                unit = units[made % len(units)]
                citizen = Citizen()
                session.add(citizen)
                await session.flush()
                ticket = Ticket(
                    number=f"B{made:012d}",
                    citizen_id=citizen.id or 0,
                    channel="app",
                    title="路灯不亮",
                    description="望江路18号门口的路灯坏了一周了，晚上很黑，请尽快修复。",
                    address="望江路18号",
                    subcategory_code="0503",
                    category_code="05",
                    status=TicketStatus.DISPATCHED,
                    unit_id=unit.id,
                )
                await ticket_repo.add(session, ticket, actor="citizen")
                event = await ticket_repo.record(
                    session, ticket=ticket, actor="system", action="dispatched", note="bench"
                )
                queued = await outbox.enqueue(
                    session, ticket=ticket, unit=unit, event=event, kind=DispatchKind.DISPATCHED
                )
                queued.next_attempt_at = HELD  # released at once when the workers are up
                session.add(queued)
                made += 1
        print(f"\rqueued {made}/{tickets}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    code = "from hotline.cli.main import main; main()"
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--no-sweep"],
            env={**os.environ, "HOTLINE_CONFIG": str(config)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def workers_ready(workdir: Path, count: int, timeout: float = 120.0) -> None:
    """Each worker prints "worker … running" once its loop has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = [workdir / f"w{i}.log" for i in range(count)]
        if all(p.exists() and b"running" in p.read_bytes() for p in logs):
            return
        await asyncio.sleep(0.2)
    raise SystemExit("workers did not start")


async def delivered_count(database: Database) -> int:
    async with database.read() as session:
        statement = select(func.count()).where(Dispatch.status == DispatchStatus.DELIVERED)
        return int((await session.execute(statement)).scalar_one())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    await admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    database = Database(url)
    workers: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        await upgrade(database)
        await seed(database, args.tickets, f"http://127.0.0.1:{port}/hook")
        config = workdir / "config.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": str(workdir),
                    "database": {"url": url},
                    "channels": {"app": {"enabled": False}, "letters": {"enabled": False}},
                    "classifier": {"required": False},
                    "logging": {"format": "text", "level": "WARNING"},
                    "dispatch": {
                        "batch_size": args.batch_size,
                        "concurrency": args.concurrency,
                        "lease_seconds": args.lease_seconds,
                        "webhook_timeout_seconds": min(10.0, args.lease_seconds / 2),
                        "poll_seconds": 0.05,
                    },
                }
            ),
            encoding="utf-8",
        )
        workers = [start_worker(config, workdir / f"w{i}.log") for i in range(args.workers)]
        await workers_ready(workdir, args.workers)
        async with database.session() as session:
            await session.execute(update(Dispatch).values(next_attempt_at=utcnow()))
        start = time.monotonic()
        killed_at: float | None = None
        done_at = None
        while time.monotonic() - start < args.timeout:
            await asyncio.sleep(0.05)
            if killed_at is None and len(receiver.deliveries) >= args.tickets * args.kill_at:
                workers[0].send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                print(f"killed worker 0 at {len(receiver.deliveries)} received", file=sys.stderr)
            arrived = len(receiver.deliveries) >= args.tickets
            if arrived and await delivered_count(database) >= args.tickets:
                done_at = time.monotonic()
                break
        elapsed = (done_at or time.monotonic()) - start
        delivered = await delivered_count(database)
        async with database.read() as session:
            ids = {str(i) for i in (await session.execute(select(Dispatch.id))).scalars()}
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(timeout=30)
        await runner.cleanup()
        await database.dispose()
        await admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    received = set(receiver.deliveries)
    span = receiver.last_at - (receiver.first_at or receiver.last_at)
    return {
        "tickets": args.tickets,
        "workers": args.workers,
        "killed_worker_at_fraction": args.kill_at if killed_at else None,
        "elapsed_s": round(elapsed, 2),
        "throughput_per_s": round(args.tickets / elapsed, 1),
        "receive_span_s": round(span, 2),
        "lost": len(ids - received) + (args.tickets - delivered),
        "not_marked_delivered": args.tickets - delivered,
        "repeats": sum(n - 1 for n in receiver.deliveries.values()),
        "distinct_received": len(received & ids),
        "bad_signatures": receiver.bad,
        "lease_seconds": args.lease_seconds,
        "batch_size": args.batch_size,
        "concurrency": args.concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=1 / 3, help="fraction received")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--lease-seconds", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
