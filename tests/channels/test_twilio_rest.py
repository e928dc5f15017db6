"""The Twilio channel's calls to Twilio's REST API (faked, driven by Twilio's own client):
satisfaction callbacks (the outbound call, the keypad rating and spoken reason in signed
webhooks, an unanswered call followed by an SMS the citizen answers) and callers handed to a
person (转人工: waiting in Twilio's queue, bridged to the agent who takes the call, never also
let go by the queue's wait limit)."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from sqlmodel import select

from hotline.callbacks import wording
from hotline.callbacks.worker import CallbackWorker
from hotline.channels.twilio.agents import HOLD, NO_ANSWER
from hotline.intake import handoff
from hotline.services import Services, build_services
from hotline.storage.models import (
    CallbackStatus,
    CitizenPush,
    Message,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
)
from hotline.storage.types import utcnow
from hotline.web.app import create_app
from tests.callbacks.conftest import ANY_TIME, worker_for
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.test_twilio import BASE, CALLER, SID, TWILIO, Client, signed, turn, twiml
from tests.conftest import make_config, until_waiting
from tests.web.conftest import login
from tests.web.test_ticket_actions import act, make_staff

VOICE_FROM = "+8610012345"
ServerFactory = Callable[[Application], Awaitable[TestServer]]


@pytest.fixture
async def api(aiohttp_server: ServerFactory) -> tuple[FakeTwilioApi, str]:
    fake = FakeTwilioApi(SID)
    server = await aiohttp_server(fake.app())
    return fake, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any, api: tuple[FakeTwilioApi, str]
) -> AsyncIterator[Services]:
    twilio = {**TWILIO, "voice_from": VOICE_FROM, "api_base_url": api[1]}
    config = make_config(
        tmp_path,
        database_url,
        channels={"twilio": twilio},
        knowledge={"enabled": False},
        callbacks=ANY_TIME,
    )
    built = build_services(config, analyzer=analyzer, encoder=encoder)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: Any) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
async def asker(services: Services) -> AsyncIterator[CallbackWorker]:
    worker = worker_for(services)
    yield worker
    await worker.stop()  # closes Twilio's HTTP client


async def resolved_call(client: Client, services: Services) -> str:
    """A caller's complaint, filed on the phone, routed to 城管 and resolved."""
    for n, speech in enumerate(["我要投诉小区门口烧烤摊油烟太大", "江北区望江路18号", "确认"], 1):
        await twiml(await signed(client, *turn(n, speech)))
    async with services.database.read() as session:
        number = (await session.execute(select(Ticket.number))).scalar_one()
    staff = await make_staff(client, services)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="摊位已取缔")
    return number


async def the_callback(services: Services) -> SatisfactionCallback:
    async with services.database.read() as session:
        return (await session.execute(select(SatisfactionCallback))).scalar_one()


async def ticket_status(services: Services) -> str:
    async with services.database.read() as session:
        return str((await session.execute(select(Ticket.status))).scalar_one())


def call_form(status: str = "in-progress", **extra: str) -> dict[str, str]:
    return {"CallSid": "CA9", "From": VOICE_FROM, "To": CALLER, "CallStatus": status, **extra}


def gather_key(cb: int, tries: int, said: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/channels/twilio/'
        f'callback/key?cb={cb}&amp;try={tries}" actionOnEmptyResult="true" input="dtmf" '
        'method="POST" numDigits="1" timeout="8"><Say language="zh-CN" voice="Polly.Zhiyu">'
        f"{said}</Say></Gather></Response>"
    )


async def test_a_caller_is_called_back_and_rates_by_keypad(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str], asker: CallbackWorker
) -> None:
    fake, _ = api
    number = await resolved_call(client, services)
    planned = await the_callback(services)
    assert [(r["method"], r["channel"], r["address"]) for r in planned.routes] == [
        ("call", "phone", CALLER),
        ("message", "sms", CALLER),
    ]
    report = await asker.run_once()
    assert report.called == 1
    cb = planned.id
    [placed] = fake.calls
    assert placed["To"] == CALLER
    assert placed["From"] == VOICE_FROM
    assert placed["Url"] == f"{BASE}/channels/twilio/callback?cb={cb}"
    assert placed["StatusCallback"] == f"{BASE}/channels/twilio/callback/status?cb={cb}"
    waiting = await the_callback(services)
    assert (waiting.status, waiting.method) == ("awaiting", "call")
    assert (waiting.call_id or "").startswith("CA")
    listed = await client.get("/api/v1/staff/callbacks", headers=await login(client, "agent"))
    [shown] = (await listed.json())["items"]
    assert shown["address"] == "138****8000"  # staff lists never show a number whole

    question = await twiml(await signed(client, f"/channels/twilio/callback?cb={cb}", call_form()))
    assert question == gather_key(cb, 1, wording.spoken_question(number))
    wrong = await signed(
        client, f"/channels/twilio/callback/key?cb={cb}&try=1", call_form(Digits="7")
    )
    assert await twiml(wrong) == gather_key(cb, 2, wording.SPOKEN_AGAIN)
    three = await signed(
        client, f"/channels/twilio/callback/key?cb={cb}&try=2", call_form(Digits="3")
    )
    body = await twiml(three)
    assert f'<Gather action="/channels/twilio/callback/reason?cb={cb}"' in body
    assert 'input="speech" language="zh-CN"' in body
    assert wording.ASK_REASON_SPOKEN in body
    assert await ticket_status(services) == TicketStatus.DISPATCHED  # 重办 at 城管
    said = call_form(SpeechResult="晚上烧烤摊又出来了")
    reason = await twiml(await signed(client, f"/channels/twilio/callback/reason?cb={cb}", said))
    assert reason == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="zh-CN" '
        f'voice="Polly.Zhiyu">{wording.REASON_NOTED}</Say><Say language="zh-CN" '
        'voice="Polly.Zhiyu">再见。</Say><Hangup /></Response>'
    )
    done = await the_callback(services)
    assert (done.status, done.rating, done.answered_via) == ("answered", "unsatisfied", "keypad")
    assert done.reason == "晚上烧烤摊又出来了"
    # The end of the call changes nothing; a repeated key press is answered, not counted twice.
    await twiml(
        await signed(client, f"/channels/twilio/callback/status?cb={cb}", call_form("completed"))
    )
    again = await signed(
        client, f"/channels/twilio/callback/key?cb={cb}&try=2", call_form(Digits="3")
    )
    assert wording.already_rated(number, Rating.UNSATISFIED) in await twiml(again)
    assert (await the_callback(services)).status == CallbackStatus.ANSWERED


async def test_an_unanswered_call_is_followed_by_an_sms_the_citizen_answers(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str], asker: CallbackWorker
) -> None:
    number = await resolved_call(client, services)
    await asker.run_once()
    cb = (await the_callback(services)).id
    ended = call_form("no-answer")
    await twiml(await signed(client, f"/channels/twilio/callback/status?cb={cb}", ended))
    rescheduled = await the_callback(services)
    assert (rescheduled.status, rescheduled.last_error) == ("scheduled", "未接听")
    report = await asker.run_once(now=utcnow() + timedelta(hours=3))
    assert report.asked == 1
    async with services.database.read() as session:
        push, text = (
            await session.execute(
                select(CitizenPush, Message.text)
                .join(Message, Message.id == CitizenPush.message_id)
                .where(CitizenPush.channel == "sms")  # the result itself went out on "phone"
            )
        ).one()
    assert (push.channel, push.address, text) == ("sms", CALLER, wording.question(number))
    reply = {"From": CALLER, "To": "+8610012345", "MessageSid": "SM77", "Body": "1"}
    body = await twiml(await signed(client, "/channels/twilio/sms", reply))
    assert wording.THANKS[Rating.SATISFIED].format(number=number) in body
    done = await the_callback(services)
    assert (done.rating, done.answered_via, done.attempts) == ("satisfied", "message:sms", 2)
    assert await ticket_status(services) == TicketStatus.CLOSED


async def test_a_call_twilio_refuses_is_tried_again_later(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str], asker: CallbackWorker
) -> None:
    fake, _ = api
    await resolved_call(client, services)
    fake.script = [(503, 20500)]
    report = await asker.run_once()
    assert (report.called, report.failed) == (0, 1)
    callback = await the_callback(services)
    assert callback.status == CallbackStatus.SCHEDULED
    assert (callback.last_error or "").startswith("外呼失败：Twilio 503")
    assert callback.locked_by is None


async def test_bad_callback_webhooks_are_refused_and_change_nothing(
    client: Client, services: Services, asker: CallbackWorker
) -> None:
    await resolved_call(client, services)
    await asker.run_once()
    cb = (await the_callback(services)).id
    path = f"/channels/twilio/callback/key?cb={cb}&try=1"
    forged = await signed(client, path, call_form(Digits="3"), token="not-the-token")
    assert forged.status == 401
    missing = await signed(client, "/channels/twilio/callback/key?try=1", call_form(Digits="3"))
    assert missing.status == 400
    assert (await missing.json())["error"]["code"] == "malformed_url"
    unknown = await signed(
        client, "/channels/twilio/callback/key?cb=999999&try=1", call_form(Digits="1")
    )
    assert unknown.status == 404
    no_status = await signed(
        client, f"/channels/twilio/callback/status?cb={cb}", {"CallSid": "CA9"}
    )
    assert no_status.status == 400
    assert (await the_callback(services)).status == CallbackStatus.AWAITING
    assert await ticket_status(services) == TicketStatus.RESOLVED


async def test_a_question_for_a_callback_no_longer_open_hangs_up(
    client: Client, services: Services, asker: CallbackWorker
) -> None:
    await resolved_call(client, services)
    cb = (await the_callback(services)).id  # scheduled, not yet called
    body = await twiml(await signed(client, f"/channels/twilio/callback?cb={cb}", call_form()))
    assert body.endswith(f"{wording.SPOKEN_GOODBYE}</Say><Hangup /></Response>")


# -- 转人工 -------------------------------------------------------------------------------

VOICE = 'language="zh-CN" voice="Polly.Zhiyu"'


async def caller_waiting(client: Client) -> str:
    await twiml(await signed(client, *turn(1, "我要投诉小区门口烧烤摊油烟太大")))
    body = await twiml(await signed(client, *turn(2, "转人工")))
    assert body == (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Say {VOICE}>'
        f'{handoff.HANDOFF_SPOKEN}</Say><Enqueue action="/channels/twilio/voice/dequeued" '
        'method="POST" waitUrl="/channels/twilio/voice/wait" waitUrlMethod="POST">'
        "hotline-agents</Enqueue></Response>"
    )
    return body


async def conversation_of(client: Client, headers: dict[str, str]) -> str:
    desk = await (await client.get("/api/v1/staff/live", headers=headers)).json()
    [item] = desk["items"]
    return str(item["conversation_id"])


async def queued_caller(
    client: Client, services: Services
) -> tuple[dict[str, dict[str, str]], str]:
    """A caller waiting in the queue: the staff's headers and the caller's conversation."""
    await caller_waiting(client)
    staff = await make_staff(client, services)
    return staff, await conversation_of(client, staff["agent"])


async def test_a_caller_waits_on_hold_and_is_bridged_to_the_agent(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str]
) -> None:
    fake, _ = api
    await caller_waiting(client)
    hold = await twiml(await signed(client, "/channels/twilio/voice/wait", {"CallSid": "CA1"}))
    assert hold == (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Say {VOICE}>{HOLD}</Say>'
        '<Pause length="15" /></Response>'
    )
    staff = await make_staff(client, services)
    conversation = await conversation_of(client, staff["agent"])
    taken = await client.post(f"/api/v1/staff/live/{conversation}/take", headers=staff["agent"])
    assert taken.status == 200, await taken.text()
    assert fake.redirected == [
        ("CA1", {"Url": f"{BASE}/channels/twilio/voice/connect?agent=agent", "Method": "POST"})
    ]
    connect = await signed(client, "/channels/twilio/voice/connect?agent=agent", {"CallSid": "CA1"})
    assert await twiml(connect) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Dial timeout="20">'
        f"<Client>agent-agent</Client></Dial><Say {VOICE}>{NO_ANSWER}</Say></Response>"
    )


async def test_a_bridge_twilio_refuses_leaves_the_caller_waiting(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str]
) -> None:
    fake, _ = api
    staff, conversation = await queued_caller(client, services)
    fake.script = [(404, 20404)]  # the caller hung up meanwhile
    refused = await client.post(f"/api/v1/staff/live/{conversation}/take", headers=staff["agent"])
    assert refused.status == 502
    assert (await refused.json())["error"]["code"] == "upstream_failed"
    desk = await (await client.get("/api/v1/staff/live", headers=staff["agent"])).json()
    assert desk["items"][0]["state"] == "waiting_agent"  # nothing half-done


async def test_connect_needs_a_signed_request_and_a_sane_agent(client: Client) -> None:
    unsigned = await client.post(
        "/channels/twilio/voice/connect?agent=agent",
        data="CallSid=CA1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status == 401
    bad = await signed(client, "/channels/twilio/voice/connect?agent=%3CClient%3E", {"x": "1"})
    assert bad.status == 400


async def test_a_caller_who_hangs_up_while_waiting_leaves_the_live_queue(
    client: Client, services: Services
) -> None:
    staff, conversation = await queued_caller(client, services)
    left = {"CallSid": "CA1", "QueueResult": "hangup", "QueueTime": "42"}
    body = await twiml(await signed(client, "/channels/twilio/voice/dequeued", left))
    assert body == '<?xml version="1.0" encoding="UTF-8"?><Response />'
    desk = await (await client.get("/api/v1/staff/live", headers=staff["agent"])).json()
    assert desk["items"] == []
    gone = await client.post(f"/api/v1/staff/live/{conversation}/take", headers=staff["agent"])
    assert gone.status == 409
    # bridged or redirected callers stay where they are; a form without CallSid is refused
    bridged = {"CallSid": "CA1", "QueueResult": "redirected"}
    await twiml(await signed(client, "/channels/twilio/voice/dequeued", bridged))
    no_call = await signed(client, "/channels/twilio/voice/dequeued", {"QueueResult": "hangup"})
    assert no_call.status == 400


async def test_a_caller_the_agent_is_taking_is_not_let_go_at_the_wait_limit(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str]
) -> None:
    """The wait URL reaches the limit while the take is stored but not yet committed (its bridge
    is in flight): it waits for the take, sees the agent won, and keeps the caller queued."""
    fake, _ = api
    fake.gate = asyncio.Event()
    staff, conversation = await queued_caller(client, services)

    async def take() -> Any:
        return await client.post(f"/api/v1/staff/live/{conversation}/take", headers=staff["agent"])

    taking = asyncio.create_task(take())
    await asyncio.wait_for(fake.redirecting.wait(), 15)
    at_limit = {"CallSid": "CA1", "QueueTime": "180", "QueueSid": "QU1"}
    waiting = asyncio.create_task(signed(client, "/channels/twilio/voice/wait", at_limit))
    await until_waiting(services.database, waiting)
    fake.gate.set()
    taken = await asyncio.wait_for(taking, 15)
    assert taken.status == 200, await taken.text()
    assert await twiml(await asyncio.wait_for(waiting, 15)) == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="5" /></Response>'
    )  # no <Leave />
    desk = await (await client.get("/api/v1/staff/live", headers=staff["agent"])).json()
    [item] = desk["items"]
    assert (item["state"], item["agent"]) == ("with_agent", "agent")
    async with services.database.read() as session:
        authors = (await session.execute(select(Message.author))).scalars().all()
    assert handoff.WAIT_LIMIT_AUTHOR not in authors


async def test_an_agent_after_the_callers_wait_ran_out_is_refused_and_nothing_is_bridged(
    client: Client, services: Services, api: tuple[FakeTwilioApi, str]
) -> None:
    fake, _ = api
    staff, conversation = await queued_caller(client, services)
    at_limit = {"CallSid": "CA1", "QueueTime": "180", "QueueSid": "QU1"}
    leave = await twiml(await signed(client, "/channels/twilio/voice/wait", at_limit))
    assert leave == '<?xml version="1.0" encoding="UTF-8"?><Response><Leave /></Response>'
    desk = await (await client.get("/api/v1/staff/live", headers=staff["agent"])).json()
    assert desk == {"waiting": 0, "items": []}
    late = await client.post(f"/api/v1/staff/live/{conversation}/take", headers=staff["agent"])
    assert late.status == 409
    assert (await late.json())["error"]["message"] == (
        f"conversation {conversation} is not waiting for an agent any more: "
        "its wait ran out (等待人工超时 3 分钟，转回机器人)"
    )
    assert fake.redirected == []
