"""The closure and satisfaction report (办结率, 满意率) on a year of a city's tickets.

Another fresh database is bulk-loaded (``CHUNK`` rows a statement, PostgreSQL's COPY, no
intake) up to each of ``--report-sizes`` tickets in turn, each step's tickets spread evenly over
the last 364 days: 97 % routed, of those most handled (a third closed), 1 in 50 a merged report,
1 in 33 still at its unit; history lines for creation, 办结, closing and, for 1 in 25 handled, a
reopen; one callback per handled ticket, 1 in 10 unreached, 1 in 41 still pending, the answered
ones 满意 / 基本满意 / 不满意. After each step (and ``VACUUM ANALYZE`` on PostgreSQL, as
autovacuum would do) the report runs ``--repeat`` times per period and grouping through the
real code and the service's connection settings (its 30 s statement timeout included); the
year's totals are checked against the counts of what was inserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import admin  # bench/scratch.py
from sqlalchemy import insert, select
from sqlmodel import col
from timing import percentiles

from hotline.callbacks import reports
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.migrate import upgrade
from hotline.storage.models import Citizen, SatisfactionCallback, Ticket, TicketEvent, Unit
from hotline.storage.types import utcnow

QUERIES: tuple[tuple[str, int, reports.GroupBy], ...] = (
    ("30_days_by_unit", 30, "unit"),
    ("30_days_by_category", 30, "category"),
    ("365_days_by_unit", 365, "unit"),
)
CITIZENS = 10_000
CHUNK = 5_000
GOLDEN = 0.6180339887498949  # spreads any run of ids evenly over the year


@dataclass
class Expected:
    """The year's totals, counted while the rows are made."""

    tickets: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    reopened: int = 0
    callbacks: int = 0
    answered: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    unreached: int = 0
    pending: int = 0


def _status(g: int) -> str:
    if g % 97 == 0:
        return "triage"
    if g % 50 == 0:
        return "merged"
    if g % 33 == 0:
        return "dispatched"
    return "closed" if g % 3 == 0 else "resolved"


def _rows(
    first: int, stop: int, now: datetime, units: list[int], expected: Expected
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    tickets, events, callbacks = [], [], []
    for g in range(first, stop):
        created = now - timedelta(days=364 * ((g * GOLDEN) % 1.0), hours=1)
        status = _status(g)
        unit = None if status == "triage" else units[g % len(units)]
        due = created + timedelta(days=5)
        tickets.append({
            "id": g, "number": f"S{g:012d}", "citizen_id": 1 + g % CITIZENS, "channel": "phone",
            "request_type": "投诉", "title": "路灯不亮", "description": "望江路的路灯坏了。",
            "urgency": "normal", "status": status, "suggestions": [], "report_count": 1,
            "unit_id": unit, "category_code": f"{1 + g % 27:02d}",
            "subcategory_code": f"{1 + g % 27:02d}{1 + (g // 27) % 9:02d}",
            "due_at": due, "created_at": created, "updated_at": created,
        })  # fmt: skip
        events.append(_event(g, created, "created"))
        expected.tickets += status != "merged"
        if status not in ("resolved", "closed"):
            continue
        resolved = min(created + timedelta(days=g % 7, hours=2), now - timedelta(minutes=1))
        events.append(_event(g, resolved, "resolved"))
        expected.resolved += 1
        expected.resolved_on_time += resolved <= due
        if status == "closed":
            events.append(_event(g, resolved, "closed"))
        if g % 25 == 0:
            events.append(_event(g, resolved, "reopened"))
            expected.reopened += 1
        callbacks.append(_callback(g, unit, resolved, expected))
    return tickets, events, callbacks


def _event(g: int, at: datetime, action: str) -> dict[str, Any]:
    return {"ticket_id": g, "at": at, "actor": "system", "action": action, "to_value": None}


def _callback(g: int, unit: int | None, at: datetime, expected: Expected) -> dict[str, Any]:
    expected.callbacks += 1
    status, rating = "answered", None
    if g % 10 == 0:
        status = "unreached"
        expected.unreached += 1
    elif g % 41 == 0:
        status = "scheduled"
        expected.pending += 1
    else:
        rating = "unsatisfied" if g % 7 == 0 else "basic" if g % 5 == 0 else "satisfied"
        expected.answered += 1
        setattr(expected, rating, getattr(expected, rating) + 1)
    return {
        "ticket_id": g, "handled_ticket_id": g, "round": 1, "unit_id": unit, "routes": [],
        "status": status, "rating": rating, "attempts": 1, "next_attempt_at": at,
        "created_at": at, "updated_at": at,
    }  # fmt: skip


async def grow(
    database: Database, first: int, stop: int, now: datetime, expected: Expected
) -> None:
    """Insert the tickets with ids ``[first, stop)``, their history and callbacks."""
    async with database.read() as session:
        found = await session.execute(select(col(Unit.id)).order_by(col(Unit.id)))
        units = [unit for unit in found.scalars() if unit is not None]
    for start in range(first, stop, CHUNK):
        tickets, events, callbacks = _rows(start, min(start + CHUNK, stop), now, units, expected)
        async with database.session() as session:
            for model, rows in ((Ticket, tickets), (TicketEvent, events),
                                (SatisfactionCallback, callbacks)):  # fmt: skip
                await _insert(session, database.dialect, model, rows)
        print(f"\rloaded {min(start + CHUNK, stop) - 1:,} tickets", end="", file=sys.stderr)
    print(file=sys.stderr)
    if database.dialect == "postgresql":  # what autovacuum does to insert-only tables
        await admin(database.url, "VACUUM ANALYZE")


async def _insert(session: Any, dialect: str, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows at once: PostgreSQL's binary COPY (several times faster than INSERT), else
    executemany."""
    if not rows:
        return
    if dialect != "postgresql":
        await session.execute(insert(model), rows)
        return
    columns = list(rows[0])
    connection = await (await session.connection()).get_raw_connection()
    records = [
        tuple(json.dumps(v) if isinstance(v, list) else v for v in row.values()) for row in rows
    ]
    await connection.driver_connection.copy_records_to_table(
        model.__tablename__, records=records, columns=columns
    )


async def time_reports(database: Database, repeat: int, expected: Expected) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for label, days, by in QUERIES:
        took, found = [], None
        for _ in range(repeat):
            until = utcnow()
            start = time.perf_counter()
            async with database.read() as session:
                since = until - timedelta(days=days)
                found = await reports.report(session, since=since, until=until, by=by)
            took.append((time.perf_counter() - start) * 1000)
        assert found is not None
        result[label] = {"tickets_in_period": found.total.tickets, "first_ms": round(took[0], 1),
                         **percentiles(took, "latency")}  # fmt: skip
        if days == 365:
            total = found.total.to_dict()
            result["totals_match"] = all(total[k] == v for k, v in asdict(expected).items())
            if not result["totals_match"]:
                result["totals"] = {k: (total[k], v) for k, v in asdict(expected).items()}
    return result


async def report_at_scale(
    args: argparse.Namespace,
    scratch_url: Callable[[argparse.Namespace, Path, str], Awaitable[str]],
    drop: Callable[[argparse.Namespace, str], Awaitable[None]],
    workdir: Path,
) -> list[dict[str, Any]]:
    sizes = sorted(int(s) for s in args.report_sizes.split(",") if s.strip())
    url = await scratch_url(args, workdir, "scale")
    database = Database(url)
    steps, loaded, expected, now = [], 0, Expected(), utcnow()
    try:
        await upgrade(database)
        async with database.session() as session:
            await load_units(session, env={})
            await session.execute(insert(Citizen), [
                {"id": i, "name": None, "created_at": now} for i in range(1, CITIZENS + 1)
            ])  # fmt: skip
        for size in sizes:
            start = time.perf_counter()
            await grow(database, loaded + 1, size + 1, now, expected)
            loaded = size
            step = {"tickets": size, "load_s": round(time.perf_counter() - start, 1)}
            step.update(await time_reports(database, args.repeat, expected))
            print(json.dumps(step, ensure_ascii=False), file=sys.stderr)
            steps.append(step)
    finally:
        await database.dispose()
        await drop(args, url)
    return steps
