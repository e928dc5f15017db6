"""A caller nobody takes from the agents' queue: at the wait limit Twilio is told to let them
leave, they are off the live desk with one line in the transcript saying so, and are sent back
to the IVR, whose bot takes the request as a ticket."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from hotline.channels.twilio.agents import HOLD
from hotline.intake import handoff
from hotline.services import Services
from hotline.storage.models import CitizenPush, Conversation, ConversationState, Message, Ticket
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.test_twilio import (
    CALLER,
    TWILIO,
    Client,
    ClientFactory,
    signed,
    stored,
    turn,
    twiml,
)

WAIT, LEFT = "/channels/twilio/voice/wait", "/channels/twilio/voice/dequeued"
VOICE = 'language="zh-CN" voice="Polly.Zhiyu"'
XML = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    twilio = {**TWILIO, "agent_queue_max_wait_seconds": 120}
    async with channel_services(tmp_path, database_url, analyzer, encoder, twilio=twilio) as built:
        yield built


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


async def caller_waiting(client: Client) -> None:
    await twiml(await signed(client, *turn(1, "你好")))
    body = await twiml(await signed(client, *turn(2, "转人工")))
    assert "<Enqueue" in body


async def state(services: Services) -> str:
    async with services.database.read() as session:
        return str((await session.execute(select(Conversation.state))).scalar_one())


async def lines(services: Services) -> list[Message]:
    """The wait limit's lines in the transcript."""
    statement = select(Message).where(Message.author == handoff.WAIT_LIMIT_AUTHOR)
    async with services.database.read() as session:
        return list((await session.execute(statement)).scalars())


async def test_the_caller_is_held_until_the_limit_then_leaves(
    client: Client, services: Services
) -> None:
    await caller_waiting(client)
    form = {"CallSid": "CA1", "QueueTime": "119", "QueueSid": "QU1"}
    hold = await twiml(await signed(client, WAIT, form))
    assert hold == f'{XML}<Response><Say {VOICE}>{HOLD}</Say><Pause length="15" /></Response>'
    assert await lines(services) == []
    leave = await twiml(await signed(client, WAIT, {**form, "QueueTime": "125"}))
    assert leave == f"{XML}<Response><Leave /></Response>"
    assert await state(services) == ConversationState.IDLE  # off the live desk at once
    [line] = await lines(services)
    assert (line.text, line.direction) == (handoff.NO_AGENT_SPOKEN, "out")
    assert line.meta == {
        "notice": "wait_limit",
        "waited_seconds": 125,
        "note": "等待人工超时 2 分钟，转回机器人",
    }
    again = await twiml(await signed(client, WAIT, {**form, "QueueTime": "130"}))
    assert again == leave  # Twilio asked again: the caller still goes, the line stays one
    assert await lines(services) == [line]
    assert await stored(services, CitizenPush) == 0  # said in the call, not sent by SMS
    unsigned = await client.post(
        WAIT,
        data="CallSid=CA1&QueueTime=500",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status == 401
    no_call = await signed(client, WAIT, {"QueueTime": "500"})
    assert no_call.status == 400


async def test_a_caller_who_left_is_back_with_the_bot_and_files_a_ticket(
    client: Client, services: Services
) -> None:
    await caller_waiting(client)
    assert await state(services) == ConversationState.WAITING_AGENT
    at_limit = {"CallSid": "CA1", "QueueTime": "120", "QueueSid": "QU1"}
    leave = await twiml(await signed(client, WAIT, at_limit))
    assert leave == f"{XML}<Response><Leave /></Response>"
    left = {"CallSid": "CA1", "QueueResult": "leave", "QueueTime": "120"}
    body = await twiml(await signed(client, LEFT, left))
    assert body == (
        f"{XML}<Response><Say {VOICE}>{handoff.NO_AGENT_SPOKEN}</Say>"
        '<Redirect method="POST">/channels/twilio/voice/listen?turn=3</Redirect></Response>'
    )
    assert await state(services) == ConversationState.IDLE  # off the live queue
    assert len(await lines(services)) == 1
    listen = await twiml(await signed(client, "/channels/twilio/voice/listen?turn=3", left))
    assert 'action="/channels/twilio/voice/gather?turn=3&amp;silences=0"' in listen
    for n, speech in enumerate(["我要投诉小区门口烧烤摊油烟太大", "江北区望江路18号", "确认"], 3):
        await twiml(await signed(client, *turn(n, speech)))
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.contact_phone == CALLER
    unsigned = await client.post(
        "/channels/twilio/voice/listen?turn=9",
        data="CallSid=CA1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status == 401


async def test_other_ways_of_leaving_still_end_the_call(client: Client) -> None:
    await caller_waiting(client)
    hangup = {"CallSid": "CA1", "QueueResult": "hangup", "QueueTime": "30"}
    assert await twiml(await signed(client, LEFT, hangup)) == f"{XML}<Response />"
