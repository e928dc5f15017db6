from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from hotline.encoders.base import Encoder
from hotline.intake.steps import KnowledgeStep
from hotline.knowledge import workflow as wf
from hotline.knowledge.answering import (
    ANSWER_THRESHOLD,
    SUGGEST_THRESHOLD,
    KnowledgeAnswerer,
)
from hotline.knowledge.sync import KnowledgeIndex
from hotline.storage.db import Database
from hotline.storage.models import Citizen, Conversation, KnowledgeAnswerLog, KnowledgeGap
from hotline.storage.types import utcnow
from tests.knowledge.kb_helpers import make_users, published_entry


@pytest.fixture
async def index(database: Database, encoder: Encoder, tmp_path: Path) -> KnowledgeIndex:
    return KnowledgeIndex(database, encoder, tmp_path / "idx")


def test_thresholds_are_ordered_probabilities() -> None:
    assert 0.0 < SUGGEST_THRESHOLD < ANSWER_THRESHOLD < 1.0


async def test_answers_with_the_published_version_and_spoken_text(
    database: Database, index: KnowledgeIndex
) -> None:
    users = await make_users(database)
    card = await published_entry(
        database,
        users,
        "社保卡丢失了怎么补办？",
        similar_questions=["社保卡丢了怎么办"],
        answer="先拨打12333挂失，再到社保服务网点补办。",
        spoken_answer="请先打12333挂失，再去社保网点补办。",
    )
    await published_entry(database, users, "燃气怎么开户报装？")
    await index.open()
    answerer: KnowledgeStep = KnowledgeAnswerer(index, database)
    answers = await answerer.answer("我的社保卡丢了怎么办")
    top = answers[0]
    assert (top.entry_id, top.version) == (card.id, 1)
    assert top.question == "社保卡丢了怎么办"
    assert top.spoken == "请先打12333挂失，再去社保网点补办。"
    assert top.answer.startswith("先拨打12333")
    assert 0.0 <= answers[-1].confidence <= top.confidence <= 1.0
    assert await answerer.answer("   ") == ()


async def test_expired_and_retired_entries_stop_answering_without_a_refresh(
    database: Database, index: KnowledgeIndex
) -> None:
    users = await make_users(database)
    now = utcnow()
    policy = await published_entry(
        database, users, "2026年消费券怎么领取？", valid_to=now + timedelta(days=1)
    )
    other = await published_entry(database, users, "居住证怎么办理？")
    await index.open()
    today = KnowledgeAnswerer(index, database)
    later = KnowledgeAnswerer(index, database, clock=lambda: now + timedelta(days=2))
    assert (await today.answer("消费券怎么领"))[0].entry_id == policy.id
    assert policy.id not in {a.entry_id for a in await later.answer("消费券怎么领")}
    async with database.session() as session:
        await wf.retire(session, actor=users["editor"], entry_id=other.id or 0)
    assert other.id in index.index  # the index has not caught up yet …
    assert other.id not in {a.entry_id for a in await today.answer("居住证怎么办理")}


async def test_answers_and_gaps_are_recorded_through_the_step(
    database: Database, index: KnowledgeIndex
) -> None:
    users = await make_users(database)
    await published_entry(database, users, "公积金怎么提取？")
    await index.open()
    step = KnowledgeAnswerer(index, database)
    conforms: KnowledgeStep = step
    answer = (await conforms.answer("公积金提取"))[0]
    async with database.session() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        conversation = Conversation(citizen_id=citizen.id or 0, channel="app", address="u1")
        session.add(conversation)
        await session.flush()
        await step.record_answer(
            session, conversation_id=conversation.id, message_id=None, answer=answer
        )
        await step.record_gap(session, question="我的手机13912345678换号了社保怎么改")
    async with database.session() as session:
        rows = list((await session.execute(select(KnowledgeAnswerLog))).scalars())
        gaps = list((await session.execute(select(KnowledgeGap))).scalars())
    assert [(r.entry_id, r.version, r.conversation_id) for r in rows] == [
        (answer.entry_id, 1, conversation.id)
    ]
    assert rows[0].confidence == pytest.approx(answer.confidence)
    assert [g.representative for g in gaps] == ["我的手机139****5678换号了社保怎么改"]
