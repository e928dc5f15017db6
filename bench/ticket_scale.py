"""Ticket creation and the supervisors' queries on a city's years of tickets (PostgreSQL).

    .venv/bin/python bench/ticket_scale.py [--tickets 1000000] [--repeat 20] \
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

A scratch database (dropped afterwards) is migrated and given the sample units, then
``--tickets`` tickets spread over the last two years (SQL ``generate_series``: 97 % handled,
the rest open; subcategories, units, districts and phone numbers drawn at random; one
satisfaction callback per handled ticket; history lines for creation, dispatch, resolution and
closing: about 3.3 per ticket). Then, each ``--repeat`` times, through the real code:

* a letter through the intake (``submit_letter``): numbering, classification (none here),
  the duplicate search over its subcategory's open tickets of the last days, routing, outbox;
* the closure and satisfaction report for the last 30 days, by unit;
* this week's rising requests (``trends``);
* a caller's tickets by phone number (the live desk's "tickets elsewhere with this number");
* the triage queue's first page and a unit's open tickets.

It prints p50 / p99 per operation in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scratch import admin  # bench/scratch.py
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hotline.callbacks import reports
from hotline.config import load_config
from hotline.intake import history
from hotline.intake.messages import InboundMessage
from hotline.intake.tickets import TicketRequest
from hotline.intake.trends import trends
from hotline.sample.loader import load_units
from hotline.services import build_services
from hotline.storage.migrate import upgrade
from hotline.storage.models import TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

SEED = """
INSERT INTO citizen (id, name, created_at)
SELECT g, NULL, now() - interval '2 years' FROM generate_series(1, :citizens) AS g;
SELECT setval(pg_get_serial_sequence('citizen', 'id'), :citizens);

INSERT INTO ticket (number, citizen_id, channel, request_type, title, description, address,
    contact_phone, urgency, status, category_code, subcategory_code, suggestions, unit_id,
    due_at, report_count, created_at, updated_at)
SELECT 'S' || lpad(g::text, 12, '0'),
       1 + (g::bigint * 7919) % :citizens,
       (ARRAY['phone','wechat','app','letter'])[1 + g % 4],
       (ARRAY['投诉','求助','咨询','举报','建议'])[1 + g % 5],
       '路灯不亮', '望江路门口的路灯坏了一周了，晚上很黑。',
       (ARRAY['江北区望江路','江南区滨江大道','江北区解放路','高新区学府路'])[1 + g % 4]
           || (g % 300)::text || '号',
       '+86138' || lpad(((g::bigint * 104729) % 100000000)::text, 8, '0'),
       'normal',
       CASE WHEN g % 33 = 0 THEN 'dispatched' WHEN g % 97 = 0 THEN 'triage'
            WHEN g % 3 = 0 THEN 'closed' ELSE 'resolved' END,
       lpad((1 + g % 27)::text, 2, '0'),
       lpad((1 + g % 27)::text, 2, '0') || lpad((1 + (g / 27) % 9)::text, 2, '0'),
       '[]'::json,
       (SELECT id FROM unit ORDER BY id LIMIT 1 OFFSET (g % :units)),
       ts + interval '5 days', 1, ts, ts
FROM (SELECT g, now() - (g::float / :tickets) * interval '730 days' AS ts
      FROM generate_series(1, :tickets) AS g) AS s;

INSERT INTO ticket_event (ticket_id, at, actor, action, to_value)
SELECT id, created_at, 'citizen', 'created', 'triage' FROM ticket;
INSERT INTO ticket_event (ticket_id, at, actor, action, to_value)
SELECT id, created_at + interval '1 minute', 'system', 'dispatched', unit_id::text
FROM ticket WHERE status <> 'triage';
INSERT INTO ticket_event (ticket_id, at, actor, action, to_value)
SELECT id, created_at + (id % 7) * interval '1 day', 'unit:bench', 'resolved', 'resolved'
FROM ticket WHERE status IN ('resolved', 'closed');
INSERT INTO ticket_event (ticket_id, at, actor, action, to_value)
SELECT id, created_at + interval '8 days', 'system:callback', 'closed', 'closed'
FROM ticket WHERE status = 'closed';

INSERT INTO satisfaction_callback (ticket_id, handled_ticket_id, round, unit_id, routes,
    status, rating, attempts, next_attempt_at, created_at, updated_at)
SELECT id, id, 1, unit_id, '[]'::json,
       CASE WHEN id % 10 = 0 THEN 'unreached' ELSE 'answered' END,
       CASE WHEN id % 10 = 0 THEN NULL WHEN id % 7 = 0 THEN 'unsatisfied' ELSE 'satisfied' END,
       1, updated_at, updated_at, updated_at
FROM ticket WHERE status IN ('resolved', 'closed');
ANALYZE;
"""


async def seed(services: Any, url: str, tickets: int) -> None:
    async with services.database.session() as session:
        await load_units(session, env={})
        units = (await session.execute(text("SELECT count(*) FROM unit"))).scalar_one()
    # Outside the service's pool and its 30 s statement timeout: a million rows take longer.
    numbers = {"tickets": tickets, "citizens": max(tickets // 3, 1), "units": units}
    sql = SEED
    for key, value in numbers.items():
        sql = sql.replace(f":{key}", str(int(value)))
    await admin(url, sql)


async def timed(repeat: int, work: Callable[[int], Awaitable[Any]]) -> list[float]:
    out = []
    for i in range(repeat):
        start = time.perf_counter()
        await work(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    await admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    workdir = Path(tempfile.mkdtemp(prefix="hotline-scale-"))
    config_path = workdir / "config.yml"
    config_path.write_text(
        f"data_dir: {workdir}\ndatabase: {{url: '{url}'}}\n"
        "channels: {app: {api_key: bench-key-0123456789abcdef}}\n"
        "classifier: {required: false}\nknowledge: {enabled: false}\n"
        "logging: {level: WARNING}\n",
        encoding="utf-8",
    )
    services = build_services(load_config(config_path))
    results: dict[str, Any] = {"tickets": args.tickets}
    try:
        await upgrade(services.database)
        start = time.perf_counter()
        await seed(services, url, args.tickets)
        results["seed_s"] = round(time.perf_counter() - start, 1)
        database, now = services.database, utcnow()

        async def letter(i: int) -> None:
            message = InboundMessage(
                channel="letter", sender="+8613800000000", external_id=f"bench-{i}",
                text="路灯坏了", contact_phone="+8613800000000",
            )  # fmt: skip
            request = TicketRequest(
                description=f"江北区望江路{i}号门口的路灯坏了一周了", subcategory_code="0101",
                category_code="01", address=f"江北区望江路{i}号", contact_phone="+8613800000000",
            )  # fmt: skip
            await services.pipeline.submit_letter(message, request)

        async def report(_: int) -> None:
            async with database.read() as session:
                await reports.report(session, since=now - timedelta(days=30), until=now, by="unit")

        async def rising(_: int) -> None:
            async with database.read() as session:
                await trends(session, now=now)

        async def by_phone(i: int) -> None:
            async with database.read() as session:
                await history.tickets_with_phone(session, f"+86138{(i * 104729) % 100000000:08d}")

        async def triage(_: int) -> None:
            async with database.read() as session:
                await ticket_repo.search(
                    session, where=ticket_repo.TicketFilter(status=TicketStatus.TRIAGE)
                )

        async def unit_open(_: int) -> None:
            async with database.read() as session:
                where = ticket_repo.TicketFilter(statuses=(TicketStatus.DISPATCHED,), unit_id=1)
                await ticket_repo.search(session, where=where)

        for label, work in [
            ("letter_to_ticket", letter),
            ("report_30_days_by_unit", report),
            ("trends_week", rising),
            ("tickets_by_phone", by_phone),
            ("triage_first_page", triage),
            ("unit_open_first_page", unit_open),
        ]:
            latencies = await timed(args.repeat, work)
            results[label] = {
                "p50_ms": round(float(np.percentile(latencies, 50)), 1),
                "p99_ms": round(float(np.percentile(latencies, 99)), 1),
            }
            print(label, results[label], flush=True)
    finally:
        await services.database.dispose()
        await admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    print(json.dumps(asyncio.run(run(parser.parse_args())), ensure_ascii=False))


if __name__ == "__main__":
    main()
