"""A number typed into a chat is a claim; a call or SMS from it proves it. The prover is the
number's owner from then on, never taken for whoever typed it first, and a claim never takes a
number from anyone. Calls and SMS signed with Twilio's own validator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import select

from hotline.intake.status import not_found_sentence
from hotline.services import Services
from hotline.storage.models import ContactPoint, Ticket
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.test_twilio import CALLER, TWILIO, signed, turn, twiml
from tests.conftest import API_KEY

Client = TestClient[Any, Any]
ClientFactory = Callable[[Application], Awaitable[Client]]
KEY = {"X-Api-Key": API_KEY}
TYPED = "138 0013 8000"  # the caller's number, as a chatter types it
REQUEST = ["我要投诉，小区门口的烧烤摊油烟太大了", "江北区望江路18号", "13800138000", "确认"]
CALL = ["我要投诉小区门口烧烤摊油烟太大", "江北区望江路18号", "确认"]


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    async with channel_services(tmp_path, database_url, analyzer, encoder, twilio=TWILIO) as built:
        yield built


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


async def chat(client: Client, sender: str, text: str, **extra: Any) -> dict[str, Any]:
    body = {"sender": sender, "text": text, "message_id": f"{sender}-{text}", **extra}
    response = await client.post("/api/v1/messages", json=body, headers=KEY)
    assert response.status in (200, 201), await response.text()
    return dict(await response.json())


async def chatted_ticket(client: Client, sender: str) -> str:
    """``sender`` files a request in the app, giving the caller's number as theirs."""
    for text in REQUEST:
        done = await chat(client, sender, text, phone=TYPED)
    return str(done["ticket"]["number"])


async def call(client: Client) -> None:
    """The number's owner calls and files a request."""
    for n, speech in enumerate(CALL, start=1):
        await twiml(await signed(client, *turn(n, speech)))


async def texted(client: Client, text: str, sid: str) -> str:
    form = {"MessageSid": sid, "From": CALLER, "To": "+8612345", "Body": text}
    return await twiml(await signed(client, "/channels/twilio/sms", form))


async def asked(client: Client, sender: str, text: str) -> str:
    return " ".join(r["text"] for r in (await chat(client, sender, text))["replies"])


async def tickets(services: Services) -> dict[str, Ticket]:
    async with services.database.read() as session:
        return {t.channel: t for t in (await session.execute(select(Ticket))).scalars()}


async def points(services: Services) -> dict[tuple[str, str], tuple[int, bool]]:
    async with services.database.read() as session:
        found = (await session.execute(select(ContactPoint))).scalars()
        return {(p.kind, p.value): (p.citizen_id, p.verified) for p in found}


async def test_a_caller_is_never_taken_for_the_chatter_who_typed_their_number(
    client: Client, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    mine = await chatted_ticket(client, "chatter")
    before = await points(services)
    chatter = before[("app", "chatter")][0]
    assert before[("phone", CALLER)] == (chatter, False)  # a claim: an address to answer at
    with caplog.at_level("WARNING"):
        await call(client)
    filed = await tickets(services)
    caller = filed["phone"].citizen_id
    assert caller != chatter
    assert filed["app"].citizen_id == chatter  # the chatter keeps their ticket...
    assert filed["app"].contact_phone == CALLER  # ...and the number they gave with it
    after = await points(services)
    assert after[("phone", CALLER)] == (caller, True)
    assert after[("app", "chatter")] == (chatter, True)
    assert len(after) == 2
    # the chatter sees their own ticket only, and cannot read the caller's
    assert filed["phone"].number not in await asked(client, "chatter", "查询我的工单进度")
    assert mine in await asked(client, "chatter", "我刚才反映的问题处理得怎么样了")
    theirs = await asked(client, "chatter", f"查询工单{filed['phone'].number}进度")
    assert not_found_sentence(filed["phone"].number) in theirs
    # the caller, by SMS, sees theirs and not the chatter's
    by_sms = await texted(client, "查询我的工单进度", "SM-again")
    assert filed["phone"].number in by_sms
    assert mine not in by_sms
    given = [r.getMessage() for r in caplog.records if "citizens.claim_given_way" in r.getMessage()]
    assert given == [
        f"citizens.claim_given_way: phone 138****8000 given by citizen {chatter} is proven "
        f"by citizen {caller}"
    ]
    assert "13800138000" not in caplog.text


async def test_a_proven_number_nobody_holds_becomes_the_callers(
    client: Client, services: Services
) -> None:
    await texted(client, "你好", "SM-1")
    [(key, (citizen, verified))] = (await points(services)).items()
    assert (key, verified) == (("phone", CALLER), True)
    await texted(client, "在吗", "SM-2")
    assert await points(services) == {key: (citizen, True)}  # the same citizen again


async def test_a_claim_never_takes_a_proven_number(client: Client, services: Services) -> None:
    await texted(client, "你好", "SM-1")
    owner = (await points(services))[("phone", CALLER)]
    mine = await chatted_ticket(client, "chatter")
    found = await points(services)
    assert found[("phone", CALLER)] == owner
    assert found[("app", "chatter")][0] != owner[0]
    assert mine not in await texted(client, "查询我的工单进度", "SM-2")


async def test_two_chatters_claiming_one_number_stay_two(
    client: Client, services: Services
) -> None:
    first = await chatted_ticket(client, "first")
    second = await chatted_ticket(client, "second")
    found = await points(services)
    assert found[("app", "first")][0] != found[("app", "second")][0]
    assert found[("phone", CALLER)] == (found[("app", "first")][0], False)  # the first claim
    assert first not in await asked(client, "second", "查询我的工单进度")
    assert second not in await asked(client, "first", "查询我的工单进度")
    assert not_found_sentence(first) in await asked(client, "second", f"查询工单{first}进度")
