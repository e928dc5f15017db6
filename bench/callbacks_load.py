"""Satisfaction callbacks (回访) under load: planning, asking through the workers, answers, report.

    .venv/bin/python bench/callbacks_load.py [--db sqlite|postgres] [--tickets 2000] \
        [--workers 2] [--concurrency 8] [--kill-at 0] [--vendor-latency-ms 0] \
        [--poll-seconds 5] [--batch-size 50] [--lease-seconds 60] \
        [--report-sizes 10000,100000] [--repeat 5] \
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

On a fresh database (a SQLite file in a temporary directory, or a scratch PostgreSQL database
created beside ``--postgres-url`` and dropped afterwards) with the sample units:

1. **plan** (``bench/callbacks_city.py``): ``--tickets`` accepted tickets, a quarter each from
   the app, Telegram, SMS and phone callers (every tenth with a second citizen's report merged
   into it), are resolved ``--concurrency`` at a time the way
   ``POST /api/v1/staff/tickets/{number}/resolve`` does it: 办结, the callbacks planned
   (``Callbacks.schedule``) and the results written to the citizens, in one transaction each;
2. **ask** (``bench/callbacks_asking.py``): ``--workers`` real ``hotline worker`` processes
   (default 2, on SQLite 1) ask the questions: by Telegram, by
   SMS with the rating link, by a call to phone callers, in the app. Twilio and Telegram are
   stand-ins in this process (``bench/callbacks_vendors.py``) that count every message and
   call, so losses and repeats are counted, not assumed. ``--kill-at F`` SIGKILLs the first
   worker once that fraction has been handed over;
3. **answer** (``bench/callbacks_answers.py``): the workers stop and the citizens answer
   ``--concurrency`` at a time through the real entry points: SMS, Telegram and app replies
   through the intake (``pipeline.submit``: "1", "满意", "3 路灯还是不亮", "不满意" then the
   reason…), keys pressed in the call (``Callbacks.press``, a spoken reason after 3) and the
   rating page of the SMS link (``rate_by_link``); 55 % 满意, 25 % 基本满意, 20 % 不满意, which
   reopens (重办) the ticket;
4. **check**: every callback, question, call, rating, reason, ticket status, reopen dispatch
   and the closure / satisfaction report against what was done;
5. **report at scale** (``bench/callbacks_report_scale.py``): the report (``hotline callbacks
   report``) on another fresh database bulk-loaded to each of ``--report-sizes`` tickets
   spread over a year.

The callbacks are asked at once at any hour (``delay_minutes: 0``, hours 0-24); everything else
is the shipped configuration unless an option says otherwise. It prints one JSON object and
exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aiohttp import web
from callbacks_answers import answer_all, check_answers, check_report
from callbacks_asking import ask_all, ask_checks
from callbacks_city import BOT, CLEAN_ENV, HELD, SID, expectations, resolve_all, seed, write_config
from callbacks_report_scale import report_at_scale
from callbacks_vendors import Vendors
from scratch import admin  # bench/scratch.py
from sqlalchemy import update
from sqlalchemy.engine import make_url

from hotline.config import load_config
from hotline.services import build_services
from hotline.storage.migrate import upgrade
from hotline.storage.models import SatisfactionCallback


async def scratch_url(args: argparse.Namespace, workdir: Path, label: str) -> str:
    if args.db == "sqlite":
        return f"sqlite+aiosqlite:///{workdir / f'{label}.db'}"
    name = f"hotline_bench_{label}_{uuid.uuid4().hex[:8]}"
    await admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    return make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)


async def drop(args: argparse.Namespace, url: str) -> None:
    if args.db == "postgres":
        name = make_url(url).database
        await admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"database": args.db, "loadavg_before": loadavg()}
    workdir = Path(tempfile.mkdtemp(prefix="hotline-callbacks-"))
    try:
        if args.tickets:
            await load(args, workdir, result)
            result["loadavg_after_load"] = loadavg()
        if args.report_sizes:
            result["report_at_scale"] = await report_at_scale(args, scratch_url, drop, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["loadavg_after"] = loadavg()
    return result


async def load(args: argparse.Namespace, workdir: Path, result: dict[str, Any]) -> None:
    """Steps 1-4 on their own database; the figures and checks go into ``result``."""
    vendors = Vendors(SID, BOT, latency=args.vendor_latency_ms / 1000)
    runner = web.AppRunner(vendors.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with AsyncExitStack() as stack:
        stack.push_async_callback(runner.cleanup)
        url = await scratch_url(args, workdir, "load")
        stack.push_async_callback(drop, args, url)
        config = write_config(workdir, url, f"http://127.0.0.1:{port}", args)
        services = build_services(load_config(config, CLEAN_ENV))
        stack.push_async_callback(services.database.dispose)
        await upgrade(services.database)
        numbers = await seed(services.database, args.tickets)
        expected = expectations(numbers)
        print("resolving…", file=sys.stderr)
        result["plan"] = await resolve_all(services, numbers, args.concurrency)
        async with services.database.session() as session:
            await session.execute(update(SatisfactionCallback).values(next_attempt_at=HELD))
        print("asking…", file=sys.stderr)
        result["ask"] = await ask_all(services.database, vendors, expected, config, args, workdir)
        result["ask_checks"] = await ask_checks(
            services.database, vendors, numbers, kill=bool(args.kill_at)
        )
        print("answering…", file=sys.stderr)
        plan, result["answer"] = await answer_all(services, vendors, args.concurrency)
        result["answer_checks"] = await check_answers(services.database, plan)
        result["report_checks"] = await check_report(services.database, plan, len(numbers))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--tickets", type=int, default=2000, help="0: only the report at scale")
    parser.add_argument("--workers", type=int, default=None, help="default: 2, SQLite 1")
    parser.add_argument("--concurrency", type=int, default=8, help="resolutions, answers at once")
    parser.add_argument("--kill-at", type=float, default=0.0, help="fraction handed over; 0: none")
    parser.add_argument("--vendor-latency-ms", type=float, default=0.0)
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="callbacks.poll_seconds")
    parser.add_argument("--batch-size", type=int, default=50, help="callbacks.batch_size")
    parser.add_argument(
        "--lease-seconds", type=float, default=60.0, help="dispatch.lease_seconds (all workers)"
    )
    parser.add_argument(
        "--report-sizes", default="10000,100000", help="comma-separated; empty: skip"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    args.workers = args.workers or (1 if args.db == "sqlite" else 2)
    if args.kill_at and args.workers < 2:
        parser.error("--kill-at needs --workers 2 or more")
    result = asyncio.run(run(args))
    print(json.dumps(result, ensure_ascii=False))
    failed = [k for k, v in result.items() if k.endswith("checks") and not v.get("ok")]
    failed += [f"report_at_scale {s['tickets']}" for s in result.get("report_at_scale", [])
               if not s["totals_match"]]  # fmt: skip
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)
    print("all checks passed", file=sys.stderr)


if __name__ == "__main__":
    main()
