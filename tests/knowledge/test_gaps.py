import pytest
from sqlmodel import select

from hotline.encoders.base import Encoder
from hotline.errors import Conflict, NotFound
from hotline.knowledge.gaps import MAX_EXAMPLES, GapRecorder, gap_view, mark_handled
from hotline.storage.db import Database
from hotline.storage.models import GapStatus, KnowledgeGap
from hotline.storage.repos import knowledge as repo
from tests.knowledge.kb_helpers import make_users, published_entry


async def _gaps(database: Database) -> list[KnowledgeGap]:
    async with database.session() as session:
        return await repo.gaps_by_frequency(session, status=None, limit=100)


async def _record(database: Database, recorder: GapRecorder, *texts: str) -> None:
    for text in texts:
        async with database.session() as session:
            await recorder.record(session, text=text, confidence=0.2)


async def test_personal_data_is_masked_before_storing(database: Database, encoder: Encoder) -> None:
    await _record(
        database, GapRecorder(encoder), "我电话13812345678，身份证110101199003071234，路灯坏了"
    )
    async with database.session() as session:
        stored = (await session.execute(select(KnowledgeGap))).scalars().one()
    everything = f"{stored.representative}{stored.examples}"
    assert "13812345678" not in everything
    assert "199003071234" not in everything
    assert "138****5678" in stored.representative
    assert len(stored.vector) == encoder.dim


async def test_similar_questions_share_a_group_listed_by_frequency(
    database: Database, encoder: Encoder
) -> None:
    recorder = GapRecorder(encoder)
    await _record(
        database,
        recorder,
        "宠物医院周末营业吗",
        "小区门口的路灯坏了找谁",
        "小区门口路灯坏了找谁修",
        "小区门口的路灯坏了找谁",
    )
    gaps = await _gaps(database)
    assert [(g.count, g.representative) for g in gaps] == [
        (3, "小区门口的路灯坏了找谁"),
        (1, "宠物医院周末营业吗"),
    ]
    assert gaps[0].examples == ["小区门口路灯坏了找谁修", "小区门口的路灯坏了找谁"]
    assert gaps[0].first_seen < gaps[0].last_seen
    assert gap_view(gaps[0])["count"] == 3
    assert "vector" not in gap_view(gaps[0])


async def test_a_strict_threshold_keeps_groups_apart(database: Database, encoder: Encoder) -> None:
    await _record(database, GapRecorder(encoder, threshold=0.999), "路灯坏了找谁", "路灯不亮找谁修")
    assert [g.count for g in await _gaps(database)] == [1, 1]


async def test_examples_are_capped(database: Database, encoder: Encoder) -> None:
    await _record(
        database, GapRecorder(encoder, threshold=-1.0), *(f"第{i}个问题" for i in range(8))
    )
    gaps = await _gaps(database)
    assert [g.count for g in gaps] == [8]
    assert gaps[0].examples == [f"第{i}个问题" for i in range(3, 8)]
    assert len(gaps[0].examples) == MAX_EXAMPLES


async def test_empty_text_records_nothing(database: Database, encoder: Encoder) -> None:
    async with database.session() as session:
        assert await GapRecorder(encoder).record(session, text="   ") is None
    assert await _gaps(database) == []


async def test_mark_handled_links_the_entry_once(database: Database, encoder: Encoder) -> None:
    users = await make_users(database)
    await _record(database, GapRecorder(encoder), "路灯坏了找谁")
    gap_id = (await _gaps(database))[0].id or 0
    entry = await published_entry(database, users, "路灯不亮向哪里反映？")
    with pytest.raises(NotFound, match="entry 999"):
        async with database.session() as session:
            await mark_handled(session, actor=users["editor"], gap_id=gap_id, entry_id=999)
    with pytest.raises(NotFound, match="gap 999"):
        async with database.session() as session:
            await mark_handled(session, actor=users["editor"], gap_id=999, entry_id=None)
    async with database.session() as session:
        done = await mark_handled(session, actor=users["editor"], gap_id=gap_id, entry_id=entry.id)
    assert (done.status, done.entry_id, done.handled_by) == (
        GapStatus.HANDLED,
        entry.id,
        users["editor"].id,
    )
    with pytest.raises(Conflict):
        async with database.session() as session:
            await mark_handled(session, actor=users["editor"], gap_id=gap_id, entry_id=None)
    # A handled group no longer collects new questions: the same text opens a new group.
    await _record(database, GapRecorder(encoder), "路灯坏了找谁")
    assert [(g.status, g.count) for g in await _gaps(database)] == [
        (GapStatus.OPEN, 1),
        (GapStatus.HANDLED, 1),
    ]
