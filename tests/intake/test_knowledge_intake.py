"""The intake with the knowledge base: answers with their entry and version logged, "did you
mean" choices, and unanswered questions kept as gaps while they become tickets."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.intake.messages import InboundMessage
from hotline.sample.loader import initialise
from hotline.services import Services, build_services, running_services
from hotline.storage.models import KnowledgeAnswerLog, KnowledgeEntry, KnowledgeGap
from tests.conftest import make_config


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, kb_text_analyzer: Any
) -> AsyncIterator[Services]:
    config = make_config(tmp_path, database_url)
    built = build_services(config, analyzer=analyzer, encoder=encoder, kb_analyzer=kb_text_analyzer)
    async with built.database.session() as session:
        await initialise(session)  # sample units, staff users and the published knowledge
    async with running_services(built):
        yield built


def say(text: str, mid: str, sender: str = "k1") -> InboundMessage:
    return InboundMessage(
        channel="app", sender=sender, external_id=mid, text=text, contact_phone="13800138000"
    )


async def test_a_covered_question_is_answered_and_logged(services: Services) -> None:
    result = await services.pipeline.submit(say("社保卡丢了咋补办啊", "1"))
    assert "挂失" in result.replies[0].text
    assert "解决" in result.replies[1].text
    assert result.ticket is None
    async with services.database.read() as session:
        log = (await session.execute(select(KnowledgeAnswerLog))).scalar_one()
        entry = await session.get(KnowledgeEntry, log.entry_id)
    assert entry is not None
    assert "社保卡" in entry.question
    assert log.version == entry.published_version
    assert log.conversation_id == result.conversation_id
    done = await services.pipeline.submit(say("解决了", "2"))
    assert "很高兴" in done.replies[0].text


async def test_an_unhelpful_answer_becomes_a_ticket_and_a_gap(services: Services) -> None:
    await services.pipeline.submit(say("社保卡丢了咋补办啊", "1"))
    step = await services.pipeline.submit(say("没解决", "2"))
    assert "请确认" in step.replies[0].text
    done = await services.pipeline.submit(say("确认", "3"))
    assert done.ticket is not None
    async with services.database.read() as session:
        gaps = list((await session.execute(select(KnowledgeGap))).scalars())
    assert [g.representative for g in gaps] == ["社保卡丢了咋补办啊"]


async def test_an_uncovered_question_becomes_a_ticket_and_a_gap_with_masked_text(
    services: Services,
) -> None:
    question = "我叫张三电话13912345678，想问人才公寓的租金补贴今年还发不发"
    result = await services.pipeline.submit(say(question, "1", sender="k2"))
    assert all("挂失" not in r.text for r in result.replies)
    async with services.database.read() as session:
        gaps = list((await session.execute(select(KnowledgeGap))).scalars())
    assert len(gaps) == 1
    assert "13912345678" not in gaps[0].representative
    assert "139****5678" in gaps[0].representative
