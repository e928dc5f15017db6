"""The embedded default (SQLite, one process) under concurrent writers that also read."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from hotline.storage.db import Database
from hotline.storage.migrate import upgrade
from hotline.storage.models import Citizen


async def test_concurrent_writers_that_read_inside_their_transaction_all_succeed(
    tmp_path: Path,
) -> None:
    """Each write reads through a second connection while it holds SQLite's write lock, as the
    intake does for a knowledge lookup. Before writers took turns in the process, the waiting
    writers held the whole pool, the lock holder never got its read connection, and every
    request failed after the busy timeout."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}", pool_size=1)
    await upgrade(database)

    async def intake(n: int) -> None:
        async with database.session() as session:
            session.add(Citizen(name=f"c{n}"))
            await session.flush()
            await asyncio.sleep(0.005)  # the classifier's few milliseconds
            async with database.read() as lookup:
                await lookup.execute(select(func.count()).select_from(Citizen))

    try:
        await asyncio.wait_for(asyncio.gather(*(intake(n) for n in range(40))), timeout=20)
        async with database.read() as session:
            stored = (await session.execute(select(func.count()).select_from(Citizen))).scalar()
        assert stored == 40
    finally:
        await database.dispose()
