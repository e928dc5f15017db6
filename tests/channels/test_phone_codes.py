"""A letter's phone is a claim until proven: with SMS the letter box sends a code (through the
push outbox, Twilio's own client against a stand-in) and files the letter in the holder's name
only with it; without SMS the letter is taken but its writer is nobody else. Results of such
tickets go by SMS when there is no address to mail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import func, select

from hotline.channels.phone_codes import HIDDEN, key_of
from hotline.channels.push import PushWorker
from hotline.channels.twilio.pusher import TwilioSmsPusher
from hotline.config import Config
from hotline.errors import ConfigError
from hotline.intake.messages import InboundMessage
from hotline.routing.worker import WorkerSettings
from hotline.services import Services
from hotline.storage.models import ContactPoint, Message, PhoneCode, Ticket
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.test_twilio import AUTH, SID, TWILIO
from tests.conftest import API_KEY, make_config
from tests.web.test_ticket_actions import act, history, make_staff

Client = TestClient[Any, Any]
ClientFactory = Callable[[Application], Awaitable[Client]]
KEY = {"X-Api-Key": API_KEY}
HOLDER = "+8613800138000"
LETTER = {
    "title": "楼道灯不亮",
    "content": "幸福小区三单元楼道灯坏了一个月，老人晚上上下楼很危险。",
    "name": "李先生",
    "phone": "138 0013 8000",
    "letter_id": "form-1",
}
REPLY = "楼道灯已全部更换"


@pytest.fixture
async def twilio(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[FakeTwilioApi, str]:
    api = FakeTwilioApi(SID)
    return api, str((await aiohttp_server(api.app())).make_url("")).rstrip("/")


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    async with channel_services(tmp_path, database_url, analyzer, encoder, twilio=TWILIO) as built:
        yield built


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
async def sms(services: Services, twilio: tuple[FakeTwilioApi, str]) -> AsyncIterator[PushWorker]:
    """The push worker that sends the SMS, as ``hotline worker`` builds it."""
    _, url = twilio
    pusher = TwilioSmsPusher(account_sid=SID, auth_token=AUTH, sms_from="+8610012345",
                             api_base_url=url)  # fmt: skip
    worker = PushWorker(
        services.database, {"sms": pusher, "phone": pusher}, WorkerSettings(concurrency=1),
        codes=key_of(services.config), name="sms",
    )  # fmt: skip
    yield worker
    await worker.stop()


async def ask_code(client: Client, phone: str = "13800138000", status: int = 202) -> Any:
    response = await client.post("/api/v1/letters/phone-code", json={"phone": phone}, headers=KEY)
    assert response.status == status, await response.text()
    return response


async def code_sent(sms: PushWorker, api: FakeTwilioApi) -> str:
    assert (await sms.run_once()).sent == 1
    body = api.sent[-1]["Body"]
    assert api.sent[-1]["To"] == HOLDER
    found = re.search(r"验证码为(\d{6})，10分钟内有效", body)
    assert found, body
    return found.group(1)


async def post_letter(client: Client, status: int, **changes: Any) -> Any:
    response = await client.post("/api/v1/letters", json={**LETTER, **changes}, headers=KEY)
    assert response.status == status, await response.text()
    return await response.json()


async def count(services: Services, model: Any) -> int:
    async with services.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def age_codes(services: Services, seconds: float) -> None:
    """Every code was sent (and expires) ``seconds`` earlier."""
    back = timedelta(seconds=seconds)
    async with services.database.session() as session:
        for row in (await session.execute(select(PhoneCode))).scalars():
            row.created_at, row.expires_at = row.created_at - back, row.expires_at - back
            session.add(row)


async def holder_id(services: Services) -> int:
    async with services.database.read() as session:
        found = await session.execute(
            select(ContactPoint.citizen_id).where(ContactPoint.value == HOLDER)
        )
        return int(found.scalar_one())


async def the_ticket(services: Services, number: str) -> Ticket:
    async with services.database.read() as session:
        return (await session.execute(select(Ticket).where(Ticket.number == number))).scalar_one()


async def test_a_verified_letter_is_the_holders_and_no_code_is_stored(
    client: Client, services: Services, sms: PushWorker, twilio: tuple[FakeTwilioApi, str]
) -> None:
    # the holder texted the hotline before: the number is theirs
    text = InboundMessage("sms", HOLDER, "SM1", "你好", contact_phone=HOLDER)
    await services.pipeline.submit(text)
    owner = await holder_id(services)
    sent = await (await ask_code(client, "+86 138-0013-8000")).json()
    assert sent["phone"] == "138****8000"
    assert sent["resend_after_seconds"] == 60
    code = await code_sent(sms, twilio[0])
    async with services.database.read() as session:
        stored = [m.text for m in (await session.execute(select(Message))).scalars()]
        [row] = (await session.execute(select(PhoneCode))).scalars().all()
    assert all(code not in t for t in stored)  # the SMS as stored says where the code goes
    assert any(HIDDEN in t for t in stored)
    assert (row.phone, row.attempts, row.used_at) == (HOLDER, 0, None)
    assert len(row.code_hash) == 64  # an HMAC under the server's key, not the code
    body = await post_letter(client, 201, phone_code=code)
    ticket = await the_ticket(services, body["ticket"]["number"])
    assert (ticket.citizen_id, ticket.contact_phone) == (owner, HOLDER)  # merged with the holder
    again = await post_letter(client, 200, phone_code=code)  # the form sent it twice
    assert again["ticket"] == body["ticket"]
    assert await count(services, Ticket) == 1


async def test_codes_are_rate_limited_per_phone(client: Client, services: Services) -> None:
    await ask_code(client)
    too_soon = await ask_code(client, status=429)
    error = (await too_soon.json())["error"]
    assert error["code"] == "phone_code_too_soon"
    assert error["message"].startswith("phone: a code was sent to 138****8000 moments ago")
    assert 1 <= int(too_soon.headers["Retry-After"]) <= 60
    for _ in range(4):  # a minute apart: five in the hour
        await age_codes(services, 61)
        await ask_code(client)
    await age_codes(services, 61)
    limit = await ask_code(client, status=429)
    error = (await limit.json())["error"]
    assert error["code"] == "phone_code_limit"
    assert "had 5 codes in the last hour" in error["message"]
    assert await count(services, PhoneCode) == 5
    await ask_code(client, "13800138000", 429)
    other = await ask_code(client, "13900139000")  # another phone is not held back
    assert (await other.json())["phone"] == "139****9000"
    landline = await ask_code(client, "010-12345678", 422)
    assert "mobile" in (await landline.json())["error"]["message"]


async def test_wrong_expired_and_used_codes_file_nothing(
    client: Client, services: Services, sms: PushWorker, twilio: tuple[FakeTwilioApi, str]
) -> None:
    never = await post_letter(client, 403, phone_code="123456")
    assert never["error"]["code"] == "phone_code_expired"
    missing = await post_letter(client, 422)
    assert missing["error"]["message"].startswith("phone_code: required")
    await ask_code(client)
    code = await code_sent(sms, twilio[0])
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    wrong = await post_letter(client, 403, phone_code=wrong_code)
    assert wrong["error"] == {
        "code": "phone_code_wrong",
        "message": "phone_code: not the code sent to this phone; 4 tries left",
    }
    await age_codes(services, 601)  # ten minutes and a second later
    expired = await post_letter(client, 403, phone_code=code)
    assert expired["error"]["code"] == "phone_code_expired"
    assert await count(services, Ticket) == 0
    await ask_code(client)
    code = await code_sent(sms, twilio[0])
    await post_letter(client, 201, phone_code=code)
    used = await post_letter(client, 403, phone_code=code, letter_id="form-2")
    assert used["error"]["code"] == "phone_code_used"
    await age_codes(services, 61)
    await ask_code(client)
    code = await code_sent(sms, twilio[0])
    for _ in range(5):
        await post_letter(client, 403, phone_code=wrong_code, letter_id="form-3")
    locked = await post_letter(client, 403, phone_code=code, letter_id="form-3")
    assert locked["error"]["code"] == "phone_code_locked"
    assert await count(services, Ticket) == 1


async def test_the_result_of_a_letter_without_an_address_goes_by_sms(
    client: Client, services: Services, sms: PushWorker, twilio: tuple[FakeTwilioApi, str]
) -> None:
    await ask_code(client)
    code = await code_sent(sms, twilio[0])
    number = (await post_letter(client, 201, phone_code=code))["ticket"]["number"]
    staff = await make_staff(client, services)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply=REPLY)
    assert (await sms.run_once()).sent == 1
    assert twilio[0].sent[-1]["To"] == HOLDER
    assert REPLY in twilio[0].sent[-1]["Body"]
    lines = await history(client, staff["agent"], number)
    texted = next(line for line in lines if line["action"] == "result_texted")
    assert (texted["from"], texted["to"]) == ("letter", "sms")
    assert texted["note"] == "办理结果另经短信发送（138****8000）"


async def test_without_sms_a_letter_is_filed_but_its_phone_is_nobodys_identity(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, aiohttp_client: ClientFactory
) -> None:
    async with channel_services(tmp_path, database_url, analyzer, encoder) as services:
        client = await aiohttp_client(create_app(services))
        text = InboundMessage("sms", HOLDER, "SM1", "你好", contact_phone=HOLDER)
        await services.pipeline.submit(text)  # the number's holder, known by SMS
        owner = await holder_id(services)
        off = await ask_code(client, status=409)
        assert (await off.json())["error"]["code"] == "phone_codes_off"
        body = await post_letter(client, 201)
        ticket = await the_ticket(services, body["ticket"]["number"])
        staff = await make_staff(client, services)
        lines = await history(client, staff["agent"], ticket.number)
        async with services.database.read() as session:
            writers = await session.execute(
                select(ContactPoint).where(ContactPoint.citizen_id == ticket.citizen_id)
            )
            assert writers.scalars().all() == []  # the typed phone is not the writer's
        assert ticket.citizen_id != owner
        assert ticket.contact_phone == HOLDER  # kept to answer at
        unverified = next(line for line in lines if line["action"] == "phone_unverified")
        assert unverified["note"].startswith("联系电话（138****8000）为来信人填写，未经短信验证")
        assert await holder_id(services) == owner


async def test_verification_follows_the_sms_channel(tmp_path: Path, database_url: str) -> None:
    def config(**channels: Any) -> Config:
        return make_config(
            tmp_path, database_url, channels={"app": {"api_key": API_KEY}, **channels}
        )

    assert config().letters_verify_phone is False  # the embedded default: no SMS
    assert config(twilio=TWILIO).letters_verify_phone is True
    assert config(twilio=TWILIO, letters={"verify_phone": False}).letters_verify_phone is False
    with pytest.raises(ConfigError, match=r"channels.letters.verify_phone: codes are sent by SMS"):
        config(letters={"verify_phone": True})
    assert key_of(config(twilio=TWILIO)) == key_of(config(twilio=TWILIO))
    assert key_of(config()) is None
