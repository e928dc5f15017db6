"""Two real ``hotline worker`` processes on one PostgreSQL: no loss, no double send, a kill.

PostgreSQL only: on SQLite the worker runs inside the single server process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.models import DeliveryMethod, DispatchStatus
from tests.conftest import API_KEY
from tests.routing.dispatch_helpers import Receiver, dispatches, new_ticket, set_delivery

TICKETS = 400


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "worker.yml"
    raw = {
        "data_dir": str(tmp_path / "data"),
        "database": {"url": database_url},
        "channels": {"app": {"api_key": API_KEY}},
        "classifier": {"required": False},
        "logging": {"format": "text", "level": "WARNING"},
        "dispatch": {
            "batch_size": 20,
            "concurrency": 8,
            "lease_seconds": 3,
            "webhook_timeout_seconds": 2,
            "poll_seconds": 0.1,
        },
    }
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOTLINE_CONFIG": str(config)}
    code = "from hotline.cli.main import main; main()"
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--no-sweep"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def _wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await condition():
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.fixture
def postgres_only(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes need PostgreSQL")
    return database_url


async def test_two_workers_one_killed_lose_nothing(
    postgres_only: str, database: Database, tmp_path: Path
) -> None:
    receiver = await Receiver().start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        async with database.session() as session:
            await load_units(session)
        await set_delivery(database, "LJ-CG", DeliveryMethod.WEBHOOK, url=receiver.url)
        async with database.session() as session:
            for i in range(TICKETS):
                await new_ticket(session, f"20261122{i:05d}", unit_code="LJ-CG")
        config = _config(tmp_path, postgres_only)
        workers = [_start_worker(config, tmp_path / f"worker{i}.log") for i in (1, 2)]

        async def some_arrived() -> bool:
            return len(receiver.deliveries) >= TICKETS // 4

        assert await _wait_for(some_arrived, 60), "workers delivered nothing"
        workers[0].send_signal(signal.SIGKILL)  # mid-run, batches in flight

        async def all_delivered() -> bool:
            rows = await dispatches(database)
            return all(r.status == DispatchStatus.DELIVERED for r in rows)

        survivor = (tmp_path / "worker2.log").read_text(errors="replace")[-2000:]
        assert await _wait_for(all_delivered, 60), f"dispatches left undelivered: {survivor}"
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(timeout=20)
        await receiver.stop()
    rows = await dispatches(database)
    assert len(rows) == TICKETS
    assert {str(r.id) for r in rows} == set(receiver.deliveries)  # nothing lost
    # A repeat can only come from the killed worker's batch in flight (its lease ran out after
    # the receiver had answered); the delivery id lets the receiver drop it.
    repeats = sum(n - 1 for n in receiver.deliveries.values())
    assert repeats <= 20
    assert receiver.bad_signatures == 0
    assert workers[1].returncode == 0  # the survivor stopped cleanly on SIGTERM
