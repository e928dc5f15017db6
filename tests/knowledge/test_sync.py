import asyncio
import logging
import time
from pathlib import Path

import pytest

from hotline.encoders.base import Encoder
from hotline.errors import StorageUnavailable
from hotline.knowledge import workflow as wf
from hotline.knowledge.sync import KnowledgeIndex, build_from_database, running
from hotline.storage.db import Database
from hotline.storage.repos import knowledge as repo
from tests.knowledge.kb_helpers import make_users, published_entry


async def _top(index: KnowledgeIndex, text: str) -> int | None:
    hits = await index.search(text, k=1)
    return hits[0].entry_id if hits else None


async def _wait_for(index: KnowledgeIndex, condition: object, seconds: float = 15.0) -> float:
    """How long until ``condition`` held; the deadline is generous (a poll takes 0.1 s) so a
    loaded machine does not fail the test: how fast is measured, not asserted."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if await condition(index):  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {seconds}s")


async def test_publish_in_one_process_is_answered_by_the_other(
    database_url: str, encoder: Encoder, tmp_path: Path
) -> None:
    first_db, second_db = Database(database_url), Database(database_url)
    users = await make_users(first_db)
    await published_entry(first_db, users, "临江市燃气怎么报装？")
    first = KnowledgeIndex(first_db, encoder, tmp_path / "idx", poll_seconds=0.1)
    second = KnowledgeIndex(second_db, encoder, tmp_path / "idx", poll_seconds=0.1)
    try:
        await first.start()
        await second.start()
        entry = await published_entry(first_db, users, "社保卡丢失了怎么挂失补办？")
        entry_id = entry.id

        async def answers(index: KnowledgeIndex) -> bool:
            return await _top(index, "社保卡丢了怎么补办") == entry_id

        await _wait_for(second, answers)
        await _wait_for(first, answers)
        async with first_db.session() as session:
            await wf.retire(session, actor=users["editor"], entry_id=entry_id or 0)

        async def gone(index: KnowledgeIndex) -> bool:
            return entry_id not in index.index

        await _wait_for(second, gone)
        await _wait_for(first, gone)
        assert second.applied_seq == first.applied_seq == 3
    finally:
        await first.stop()
        await second.stop(save=False)
        await first_db.dispose()
        await second_db.dispose()


async def test_start_up_loads_the_snapshot_and_replays_what_it_missed(
    database: Database, encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users = await make_users(database)
    old = await published_entry(database, users, "电动车怎么上牌？")
    directory = tmp_path / "idx"
    writer = KnowledgeIndex(database, encoder, directory)
    await writer.open()
    assert await writer.save() == 1
    new = await published_entry(database, users, "停电了找谁报修？")
    caplog.set_level(logging.INFO, logger="hotline.knowledge.sync")
    caplog.clear()
    reader = KnowledgeIndex(database, encoder, directory)
    await reader.open()
    assert "kb.index.loaded" in caplog.text
    assert "kb.index.rebuilding" not in caplog.text
    assert {old.id, new.id} <= set(reader.index.state.docs)
    assert reader.applied_seq == 2
    # The writer is behind the snapshot the reader now saves: it must not overwrite it.
    assert await reader.save() == 2
    assert await writer.save() is None


async def test_a_broken_snapshot_is_rebuilt_from_the_database(
    database: Database, encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "垃圾分类投放时间是几点？")
    directory = tmp_path / "idx"
    directory.mkdir()
    (directory / "manifest.json").write_text("{not json", encoding="utf-8")
    caplog.set_level(logging.INFO, logger="hotline.knowledge.sync")
    index = KnowledgeIndex(database, encoder, directory)
    await index.open()
    assert "kb.index.rebuilding" in caplog.text
    assert await _top(index, "垃圾分类什么时候投放") == entry.id
    assert index.applied_seq == 1


async def test_replaying_a_removal_of_an_absent_entry_only_moves_the_position(
    database: Database, encoder: Encoder, tmp_path: Path
) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "水费怎么缴纳？")
    index = KnowledgeIndex(database, encoder, tmp_path / "idx")
    await index.open()
    # Simulate an index rebuilt after the retirement but positioned before it.
    async with database.session() as session:
        await wf.retire(session, actor=users["editor"], entry_id=entry.id or 0)
    index._index = await build_from_database(database, encoder)
    index.index.state.applied_seq = 1
    assert await index.refresh() == 1
    assert index.applied_seq == 2
    assert entry.id not in index.index


async def test_stop_saves_and_a_stopped_follower_no_longer_polls(
    database: Database, encoder: Encoder, tmp_path: Path
) -> None:
    users = await make_users(database)
    index = KnowledgeIndex(database, encoder, tmp_path / "idx", poll_seconds=0.05)
    async with running(index):
        assert index._task is not None
        assert not index._task.done()
    assert index._task is None
    assert (tmp_path / "idx" / "manifest.json").exists()
    await published_entry(database, users, "新生儿怎么落户？")
    await asyncio.sleep(0.2)
    assert index.applied_seq == 0


async def test_the_follower_survives_a_failed_poll(
    database: Database, encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    users = await make_users(database)
    index = KnowledgeIndex(database, encoder, tmp_path / "idx", poll_seconds=0.05)
    await index.start()
    real, calls = index.refresh, []

    async def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise StorageUnavailable("the database is unavailable")
        return await real()

    index.refresh = flaky  # type: ignore[method-assign]
    try:
        entry = await published_entry(database, users, "养老金什么时候发？")

        async def indexed(current: KnowledgeIndex) -> bool:
            return entry.id in current.index

        await _wait_for(index, indexed)
        assert "kb.index.follow_failed" in caplog.text
    finally:
        await index.stop(save=False)


async def test_concurrent_publishes_all_reach_a_follower(
    database_url: str, encoder: Encoder, tmp_path: Path
) -> None:
    writers = [Database(database_url) for _ in range(3)]
    users = await make_users(writers[0])
    follower = KnowledgeIndex(writers[0], encoder, tmp_path / "idx", poll_seconds=0.05)
    await follower.start()
    try:
        topics = ["燃气", "水费", "停电", "路灯", "居住证", "公积金"]
        entries = await asyncio.gather(
            *(
                published_entry(writers[i % 3], users, f"{topic}问题怎么处理？")
                for i, topic in enumerate(topics)
            )
        )

        async def complete(index: KnowledgeIndex) -> bool:
            return all(e.id in index.index for e in entries)

        await _wait_for(follower, complete, seconds=5.0)
        async with writers[0].session() as session:
            seqs = [c.seq or 0 for c in await repo.changes_after(session, seq=0)]
        assert seqs == sorted(seqs)
        assert follower.applied_seq == seqs[-1] == len(topics)
    finally:
        await follower.stop(save=False)
        for writer in writers:
            await writer.dispose()
