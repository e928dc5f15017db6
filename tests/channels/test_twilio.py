"""The hotline number through Twilio: requests signed with Twilio's own validator, the speech
IVR's TwiML, SMS, refusals that store nothing, and later messages sent by SMS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hotline.channels.push import PushWorker
from hotline.channels.twilio.adapter import GOODBYE, NOT_HEARD, TwilioAdapter, fit_sms, pressed
from hotline.channels.twilio.pusher import TwilioSmsPusher
from hotline.config import parse_config
from hotline.errors import ConfigError
from hotline.routing.worker import WorkerSettings
from hotline.services import Services
from hotline.storage.models import CitizenPush, PushStatus, Ticket
from hotline.storage.models import Message as StoredMessage
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.fake_twilio_api import FakeTwilioApi

Client = TestClient[Any, Any]
ClientFactory = Callable[[Application], Awaitable[Client]]
SID = "AC" + "0" * 32
AUTH = "twilio-auth-token"
BASE = "https://12345.example.cn"
CALLER = "+8613800138000"
TWILIO = {
    "enabled": True,
    "account_sid": SID,
    "auth_token": AUTH,
    "public_base_url": BASE,
    "sms_from": "+8610012345",
}
GREETING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather '
    'action="/channels/twilio/voice/gather?turn=1&amp;silences=0" actionOnEmptyResult="true" '
    'input="speech" language="zh-CN" method="POST" speechTimeout="auto">'
    '<Say language="zh-CN" voice="Polly.Zhiyu">'
    "您好，这里是12345政务服务便民热线。请在提示音后说出您的诉求。"
    "</Say></Gather></Response>"
)


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    async with channel_services(tmp_path, database_url, analyzer, encoder, twilio=TWILIO) as built:
        yield built


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


async def signed(
    client: Client, path: str, form: dict[str, str], *, token: str = AUTH, url: str = BASE
) -> Any:
    """POST ``form`` as Twilio does, signed with Twilio's own validator."""
    signature = RequestValidator(token).compute_signature(url + path, form)
    headers = {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return await client.post(path, data=urlencode(form), headers=headers)


async def twiml(response: Any) -> str:
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return str(await response.text())


def turn(n: int, speech: str, call: str = "CA1", silences: int = 0) -> tuple[str, dict[str, str]]:
    path = f"/channels/twilio/voice/gather?turn={n}&silences={silences}"
    return path, {"CallSid": call, "From": CALLER, "To": "+8612345", "SpeechResult": speech}


async def stored(services: Services, model: Any = StoredMessage) -> int:
    async with services.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_call_is_greeted_and_listened_to(client: Client) -> None:
    form = {"CallSid": "CA1", "From": CALLER, "To": "+8612345", "CallStatus": "ringing"}
    assert await twiml(await signed(client, "/channels/twilio/voice", form)) == GREETING_TWIML


async def test_what_the_caller_says_goes_through_the_intake(
    client: Client, services: Services
) -> None:
    body = await twiml(await signed(client, *turn(1, "我要投诉小区门口烧烤摊油烟太大")))
    assert 'action="/channels/twilio/voice/gather?turn=2&amp;silences=0"' in body
    assert "<Say" in body
    async with services.database.read() as session:
        inbound = (
            await session.execute(select(StoredMessage).where(StoredMessage.direction == "in"))
        ).scalar_one()
    assert (inbound.channel, inbound.external_id) == ("phone", "CA1:1")
    again = await twiml(await signed(client, *turn(1, "我要投诉小区门口烧烤摊油烟太大")))
    assert again == body  # Twilio repeating a request: the same answer, stored once
    assert await stored(services) == 2


async def test_a_call_files_a_ticket_with_the_callers_number(
    client: Client, services: Services
) -> None:
    said = ["我要投诉小区门口烧烤摊油烟太大", "江北区望江路18号", "确认"]
    for n, speech in enumerate(said, start=1):
        body = await twiml(await signed(client, *turn(n, speech)))
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert (ticket.channel, ticket.contact_phone) == ("phone", CALLER)
    assert "还有其他问题吗" in body


async def test_an_emergency_is_said_and_dialled_through(client: Client) -> None:
    body = await twiml(await signed(client, *turn(1, "我家着火了 火很大 快来")))
    assert "请立即拨打119" in body
    assert body.endswith("<Dial>119</Dial></Response>")


async def test_silence_is_asked_again_then_the_call_ends(
    client: Client, services: Services
) -> None:
    first = await twiml(await signed(client, *turn(1, "")))
    assert NOT_HEARD in first
    assert "turn=1&amp;silences=1" in first
    last = await twiml(await signed(client, *turn(1, "", silences=1)))
    assert GOODBYE in last
    assert last.endswith("<Hangup /></Response>")
    assert await stored(services) == 0


async def test_an_sms_is_answered_by_sms(client: Client, services: Services) -> None:
    form = {"MessageSid": "SM1", "From": CALLER, "To": "+8612345", "Body": "你好"}
    body = await twiml(await signed(client, "/channels/twilio/sms", form))
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    async with services.database.read() as session:
        channels = {m.channel for m in (await session.execute(select(StoredMessage))).scalars()}
    assert channels == {"sms"}


@pytest.mark.parametrize(
    ("case", "path", "kwargs", "status", "code"),
    [
        ("forged", "/channels/twilio/sms", {"token": "guessed"}, 401, "bad_signature"),
        ("another url", "/channels/twilio/sms", {"url": "http://127.0.0.1:8080"}, 401,
         "bad_signature"),
        ("no call id", "/channels/twilio/voice/gather?turn=1&silences=0", {}, 400,
         "malformed_form"),
    ],
)  # fmt: skip
async def test_refused_webhooks_store_nothing(
    client: Client,
    services: Services,
    case: str,
    path: str,
    kwargs: dict[str, str],
    status: int,
    code: str,
) -> None:
    form = {"Body": "你好", "From": CALLER, "MessageSid": "SM9", "SpeechResult": "你好"}
    response = await signed(client, path, form, **kwargs)
    assert response.status == status, case
    assert (await response.json())["error"]["code"] == code
    assert await stored(services) == 0


async def test_unsigned_wrong_type_and_oversized_webhooks(
    client: Client, services: Services
) -> None:
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = await client.post("/channels/twilio/sms", data="Body=x&From=1", headers=plain)
    assert unsigned.status == 401
    as_json = await client.post("/channels/twilio/sms", json={"Body": "x"})
    assert as_json.status == 415
    huge = await client.post("/channels/twilio/sms", data="Body=" + "x" * 70_000, headers=plain)
    assert huge.status == 413
    assert await stored(services) == 0


def test_a_long_sms_is_cut() -> None:
    assert fit_sms("短信") == "短信"
    assert len(fit_sms("很长" * 1000)) == 1600


def test_an_enabled_number_needs_its_secrets() -> None:
    def config(**twilio: Any) -> None:
        parse_config({"channels": {"app": {"api_key": "k"}, "twilio": twilio}}, env={})

    with pytest.raises(ConfigError, match=r"channels\.twilio\.auth_token"):
        config(enabled=True, public_base_url=BASE)
    with pytest.raises(ConfigError, match=r"channels\.twilio\.public_base_url"):
        config(enabled=True, account_sid=SID, auth_token=AUTH)
    config(**TWILIO)


async def test_a_callers_later_messages_go_out_by_sms(
    client: Client,
    services: Services,
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> None:
    api = FakeTwilioApi(SID)
    server = await aiohttp_server(api.app())
    await twiml(await signed(client, *turn(1, "我要投诉小区门口烧烤摊油烟太大")))
    async with services.database.read() as session:
        conversation = (await session.execute(select(StoredMessage))).scalars().first()
    assert conversation is not None
    for text in ("您反映的问题已受理。", "第二条", "第三条"):
        await services.pipeline.send_agent_reply(
            conversation_id=conversation.conversation_id, text=text, agent="a"
        )
    pusher = TwilioSmsPusher(
        account_sid=SID, auth_token=AUTH, sms_from="+8610012345",
        api_base_url=str(server.make_url("")).rstrip("/"),
    )  # fmt: skip
    runner = PushWorker(
        services.database, {"phone": pusher}, WorkerSettings(concurrency=1), name="s1"
    )
    first = await runner.run_once()
    async with services.database.read() as session:
        errors = [r.last_error for r in (await session.execute(select(CitizenPush))).scalars()]
    assert first.sent == 1, errors
    assert api.sent == [{"To": CALLER, "From": "+8610012345", "Body": "您反映的问题已受理。"}]
    api.script = [(400, 21610)]  # the citizen replied STOP: final
    assert (await runner.run_once()).dead == 1
    api.script = [(503, 20500)]  # Twilio's outage: retried later
    assert (await runner.run_once()).failed == 1
    async with services.database.read() as session:
        rows = list((await session.execute(select(CitizenPush).order_by(CitizenPush.id))).scalars())
    assert [r.status for r in rows] == [PushStatus.SENT, PushStatus.DEAD, PushStatus.PENDING]
    assert "21610" in (rows[1].last_error or "")
    await runner.stop()


def test_a_keypad_digit_picks_a_choice() -> None:
    choices = ("解决了", "没解决")
    assert pressed("2", choices) == "没解决"
    assert pressed("9", choices) == ""
    assert pressed("", choices) == ""
    assert pressed("5", ()) == "5"


def test_choices_make_the_keypad_listen_too(services: Services) -> None:
    adapter = TwilioAdapter(services.config.channels.twilio, None)  # type: ignore[arg-type]
    twiml_text = str(
        adapter._listen(["以上答复是否解决了您的问题？"], turn=3, choices=("解决了", "没解决"))
    )
    assert twiml_text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/channels/twilio/voice/'
        "gather?turn=3&amp;silences=0&amp;choices=%E8%A7%A3%E5%86%B3%E4%BA%86%7C%E6%B2%A1%E8%A7%A3"
        '%E5%86%B3" actionOnEmptyResult="true" input="dtmf speech" language="zh-CN" method="POST" '
        'numDigits="1" speechTimeout="auto"><Say language="zh-CN" voice="Polly.Zhiyu">以上答复是否'
        '解决了您的问题？</Say><Say language="zh-CN" voice="Polly.Zhiyu">'
        "按1解决了，按2没解决。</Say></Gather></Response>"
    )


async def test_a_pressed_key_is_the_choice_it_stands_for(
    client: Client, services: Services
) -> None:
    query = urlencode({"turn": 2, "silences": 0, "choices": "解决了|没解决"})
    form = {"CallSid": "CA7", "From": CALLER, "To": "+8612345", "Digits": "2"}
    await twiml(await signed(client, f"/channels/twilio/voice/gather?{query}", form))
    async with services.database.read() as session:
        inbound = (
            await session.execute(select(StoredMessage).where(StoredMessage.direction == "in"))
        ).scalar_one()
    assert (inbound.text, inbound.external_id) == ("没解决", "CA7:2")


async def test_a_withheld_caller_id_is_served_without_a_contact_phone(
    client: Client, services: Services
) -> None:
    path, form = turn(1, "我要投诉小区门口烧烤摊油烟太大")
    assert "<Gather" in await twiml(await signed(client, path, {**form, "From": "anonymous"}))
    async with services.database.read() as session:
        conversation = (await session.execute(select(StoredMessage))).scalars().first()
    assert conversation is not None
    assert await stored(services) == 2  # the turn and the reply: nothing refused
