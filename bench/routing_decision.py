"""Routing decision latency: area resolution + rule match + deadline, with and without the DB.

Usage (from the repository root):

    .venv/bin/python bench/routing_decision.py [--decisions 20000] [--routes 2000]
        [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Requests are synthetic and varied: every subcategory of the taxonomy, addresses naming a
community, a street, a road (some crossing districts), a landmark, a district or nothing, a
quarter of them with coordinates inside the sample GeoJSON, all three urgencies, and creation
times spread over 2026 (Spring Festival and National Day included). "decide" is the pure
decision (``Router.decide``); "route" adds the unit lookup by code (``Router.route``) on a
migrated SQLite file (and PostgreSQL when a URL is given) holding the sample units.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from hotline.routing.router import Router, RoutingSettings, build_router
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.migrate import upgrade
from hotline.storage.models import Ticket

GEOJSON = Path("hotline/routing/data/areas.geojson")
ADDRESSES = [
    "江北区望江街道临波社区3栋2单元",
    "书院社区门口",
    "南湖街道荷花路12号",
    "梅岭街道幸福路88号",
    "人民路和临江南站之间",
    "滨江大道边上",
    "高新大道科创汇对面",
    "市中医院门口",
    "临江国际机场T2出口",
    "江北区",
    "我家楼下",
    "",
    "临港街道海纳社区菜市场",
    "青山路青山社区",
]
URGENCIES = ["normal"] * 8 + ["urgent", "critical"]


def requests(router: Router, count: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    codes = [s.code for s in router.taxonomy.subcategories]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    out: list[dict[str, object]] = []
    for _ in range(count):
        coords = rng.random() < 0.25
        out.append(
            {
                "subcategory_code": rng.choice(codes),
                "urgency": rng.choice(URGENCIES),
                "created": start + dt.timedelta(minutes=rng.randrange(0, 330 * 24 * 60)),
                "address": rng.choice(ADDRESSES),
                "latitude": rng.uniform(30.48, 30.72) if coords else None,
                "longitude": rng.uniform(119.88, 120.15) if coords else None,
            }
        )
    return out


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return (
        f"p50 {q[49] * 1e3:.3f} ms  p95 {q[94] * 1e3:.3f} ms  p99 {q[98] * 1e3:.3f} ms  "
        f"max {ordered[-1] * 1e3:.3f} ms  (n={len(ordered)})"
    )


def bench_decide(router: Router, workload: list[dict[str, object]]) -> list[float]:
    samples = []
    for request in workload:
        began = time.perf_counter()
        router.decide(**request)  # type: ignore[arg-type]
        samples.append(time.perf_counter() - began)
    return samples


def ticket_of(request: dict[str, object], index: int) -> Ticket:
    code = str(request["subcategory_code"])
    return Ticket.model_validate(
        {
            "number": f"B{index:012d}",
            "citizen_id": 1,
            "channel": "bench",
            "title": "t",
            "description": "d",
            "subcategory_code": code,
            "category_code": code[:2],
            "urgency": request["urgency"],
            "created_at": request["created"],
            "address": request["address"],
            "latitude": request["latitude"],
            "longitude": request["longitude"],
        }
    )


async def bench_route(router: Router, url: str, workload: list[dict[str, object]]) -> list[float]:
    database = Database(url)
    try:
        await upgrade(database)
        async with database.session() as session:
            await load_units(session)
        tickets = [ticket_of(r, i) for i, r in enumerate(workload)]
        samples = []
        async with database.session() as session:
            for ticket in tickets:
                began = time.perf_counter()
                await router.route(session, ticket)
                samples.append(time.perf_counter() - began)
        return samples
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--routes", type=int, default=2_000)
    parser.add_argument("--postgres-url", help="also measure route() on this (empty) database")
    args = parser.parse_args()
    began = time.perf_counter()
    router = build_router(RoutingSettings(areas_geojson_path=GEOJSON))
    print(f"build_router (load and validate all files): {(time.perf_counter() - began):.3f} s")
    workload = requests(router, args.decisions)
    first = time.perf_counter()
    router.decide(**workload[0])  # type: ignore[arg-type]
    print(f"first decision (cold calendar cache): {(time.perf_counter() - first) * 1e3:.3f} ms")
    bench_decide(router, workload[: args.decisions // 10])  # warm-up
    print("decide (no DB):        ", percentiles(bench_decide(router, workload)))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        samples = asyncio.run(bench_route(router, url, workload[: args.routes]))
        print("route (SQLite lookup): ", percentiles(samples))
    if args.postgres_url:
        samples = asyncio.run(bench_route(router, args.postgres_url, workload[: args.routes]))
        print("route (PostgreSQL):    ", percentiles(samples))


if __name__ == "__main__":
    main()
