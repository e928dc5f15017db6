"""Every citizen who reported a matter is asked about it, under their own ticket number; a
merged reporter's 不满意 reopens the ticket that was handled."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from hotline.callbacks import wording
from hotline.sample.loader import load_units
from hotline.services import Services, build_services
from hotline.storage.models import Rating, Role, SatisfactionCallback, TicketStatus
from hotline.web.app import create_app
from tests.callbacks.conftest import ANY_TIME, worker_for
from tests.conftest import make_config
from tests.intake.test_duplicates import KeywordClassifier, _chat, number_of, ticket
from tests.web.conftest import ClientFactory, add_user, login

LAMP = ["学府路12号门口的路灯坏了，晚上一片漆黑", "13800138000", "确认"]


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    config = make_config(tmp_path, database_url, knowledge={"enabled": False}, callbacks=ANY_TIME)
    built = build_services(
        config, analyzer=analyzer, encoder=encoder, classifier=KeywordClassifier()
    )
    async with built.database.session() as session:
        await load_units(session)
    yield built
    await built.database.dispose()


async def test_each_reporter_is_asked_and_a_merged_complaint_reopens_the_original(
    services: Services, aiohttp_client: ClientFactory
) -> None:
    first = number_of(await _chat(services, "u1", LAMP))
    second = number_of(await _chat(services, "u2", [LAMP[0], "13900139000", "确认"]))
    original = await ticket(services, first)
    assert (await ticket(services, second)).duplicate_of_id == original.id
    await add_user(services, "street", Role.UNIT, unit_id=original.unit_id)
    client = await aiohttp_client(create_app(services))
    street = await login(client, "street")
    base = f"/api/v1/staff/tickets/{first}"
    assert (await client.post(f"{base}/accept", json={}, headers=street)).status == 200
    done = await client.post(f"{base}/resolve", json={"reply": "路灯已修复"}, headers=street)
    assert done.status == 200, await done.text()
    async with services.database.read() as session:
        planned = list(
            (
                await session.execute(
                    select(SatisfactionCallback).order_by(col(SatisfactionCallback.id))
                )
            ).scalars()
        )
    assert [(c.ticket_id, c.handled_ticket_id) for c in planned] == [
        (original.id, original.id),
        ((await ticket(services, second)).id, original.id),
    ]
    assert (await worker_for(services).run_once()).asked == 2
    answer = await _chat(services, "u2", ["不满意，还是不亮"])
    assert answer.replies[0].text.startswith(f"很抱歉没能让您满意。工单 {second} 已交")
    assert (await ticket(services, first)).status == TicketStatus.DISPATCHED  # the original
    assert (await ticket(services, second)).status == TicketStatus.MERGED
    thanks = await _chat(services, "u1", ["满意"])
    assert thanks.replies[0].text == wording.THANKS[Rating.SATISFIED].format(number=first)
    assert (await ticket(services, first)).status == TicketStatus.DISPATCHED  # still being redone
