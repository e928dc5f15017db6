"""The live queue's wait limit on written channels: a citizen nobody took goes back to the bot
with one message, once, even with several workers sweeping; callers and taken ones are left.
An agent's take and the wait limit exclude each other however they interleave: forced here
between the sweep's read and its write, and while the sweep's transaction is still open."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from hotline.config import Config
from hotline.intake import handoff
from hotline.intake.messages import InboundMessage
from hotline.intake.outgoing import Outgoing
from hotline.intake.wait_limit import WaitLimitSweeper
from hotline.services import Services, build_services
from hotline.storage.db import Database
from hotline.storage.models import Conversation, ConversationState, Message
from hotline.storage.types import utcnow
from hotline.web.app import create_app
from tests.conftest import API_KEY, until_waiting
from tests.web.conftest import ClientFactory
from tests.web.test_live_desk import LIVE, get, post, say, texts
from tests.web.test_ticket_actions import make_staff

Client = Any
Headers = dict[str, str]
LATER, TOO_LATE = timedelta(minutes=9), timedelta(minutes=11)


@pytest.fixture
async def services(config: Config, analyzer: Any, encoder: Any) -> AsyncIterator[Services]:
    built = build_services(config, analyzer=analyzer, encoder=encoder)
    yield built
    await built.database.dispose()


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


@pytest.fixture
def app_headers() -> Headers:
    return {"X-Api-Key": API_KEY}


def sweeper(
    services: Services, database: Database | None = None, writer: Outgoing | None = None
) -> WaitLimitSweeper:
    writer = writer or Outgoing(push_channels=frozenset())
    limit = timedelta(minutes=services.config.intake.agent_max_wait_minutes)
    return WaitLimitSweeper(database or services.database, writer, max_wait=limit)


async def waiting(client: Client, app_headers: Headers, sender: str = "u1") -> str:
    await say(client, app_headers, "我要投诉，小区门口的烧烤摊油烟太大了", 1, sender=sender)
    asked = await say(client, app_headers, "转人工", 2, sender=sender)
    assert texts(asked) == [handoff.HANDOFF]
    return str(asked["conversation_id"])


async def state_of(services: Services, conversation_id: str) -> str:
    async with services.database.read() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return str(conversation.state)


async def told(services: Services) -> list[str]:
    """The conversations that got the wait limit's message, once per message."""
    return [m.conversation_id for m in await lines(services)]


async def lines(services: Services) -> list[Message]:
    """The wait limit's lines in the transcripts, in order."""
    statement = select(Message).where(Message.author == handoff.WAIT_LIMIT_AUTHOR)
    async with services.database.read() as session:
        return list((await session.execute(statement.order_by(col(Message.id)))).scalars())


def note(minutes: int) -> str:
    return f"等待人工超时 {minutes} 分钟，转回机器人"


def test_the_limits_are_configured_and_bounded(config: Config) -> None:
    assert config.intake.agent_max_wait_minutes == 10
    assert config.channels.twilio.agent_queue_max_wait_seconds == 180
    for wrong in (0, -1, 24 * 60 + 1):
        with pytest.raises(ValueError, match="agent_max_wait_minutes"):
            config.intake.model_validate({"agent_max_wait_minutes": wrong})
    for seconds in (0, 3601):
        with pytest.raises(ValueError, match="agent_queue_max_wait_seconds"):
            config.channels.twilio.model_validate({"agent_queue_max_wait_seconds": seconds})


async def test_a_long_written_wait_goes_back_to_the_bot_once(
    client: Client, services: Services, app_headers: Headers
) -> None:
    conversation = await waiting(client, app_headers)
    phone = "+8613800138000"
    call = InboundMessage(channel="phone", sender=phone, external_id="CA9:1", text="转人工")
    caller = (await services.pipeline.submit(call)).conversation_id
    sweep = sweeper(services)
    assert await sweep.run_once(utcnow() + LATER) == []  # within the limit: still waiting
    assert await state_of(services, conversation) == ConversationState.WAITING_AGENT
    assert await sweep.run_once(utcnow() + TOO_LATE) == [conversation]
    assert await sweep.run_once(utcnow() + TOO_LATE) == []
    [line] = await lines(services)
    assert (line.conversation_id, line.text, line.direction) == (
        conversation, handoff.NO_AGENT, "out",
    )  # fmt: skip
    assert (line.meta["notice"], line.meta["note"]) == ("wait_limit", note(11))
    assert 11 * 60 <= line.meta["waited_seconds"] < 12 * 60
    assert await state_of(services, conversation) == ConversationState.IDLE
    assert await state_of(services, caller) == ConversationState.WAITING_AGENT  # Twilio's part
    read = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    outbound = [m["text"] for m in (await read.json())["messages"] if m["direction"] == "out"]
    assert outbound[-1] == handoff.NO_AGENT
    staff = await make_staff(client, services)
    desk = await get(client, LIVE, staff["agent"])
    assert [item["conversation_id"] for item in desk["items"]] == [caller]
    shown = await get(client, f"{LIVE}/{conversation}", staff["agent"])
    assert shown["messages"][-1]["author"] == handoff.WAIT_LIMIT_AUTHOR
    assert shown["messages"][-1]["meta"]["note"] == note(11)
    late = await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 409)
    assert late["error"]["message"] == (
        f"conversation {conversation} is not waiting for an agent any more: "
        f"its wait ran out ({note(11)})"
    )
    # the citizen goes on with the bot, which takes the request towards a ticket
    again = await say(client, app_headers, "我要投诉，小区门口的烧烤摊油烟太大了", 3)
    assert texts(again) != []
    assert await state_of(services, conversation) == ConversationState.AWAITING_PLACE


async def test_a_conversation_an_agent_took_is_left_alone(
    client: Client, services: Services, app_headers: Headers
) -> None:
    conversation = await waiting(client, app_headers)
    staff = await make_staff(client, services)
    await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 200)
    assert await sweeper(services).run_once(utcnow() + TOO_LATE) == []
    assert await state_of(services, conversation) == ConversationState.WITH_AGENT
    assert await told(services) == []


async def test_workers_sweeping_at_once_return_each_conversation_once(
    client: Client, services: Services, app_headers: Headers, config: Config
) -> None:
    waits = {await waiting(client, app_headers, sender=f"u{n}") for n in range(4)}
    other = Database(config.database_url)  # another worker process's connections
    try:
        sweeps = [sweeper(services), sweeper(services, other), sweeper(services)]
        now = utcnow() + TOO_LATE
        returned = await asyncio.gather(*(s.run_once(now) for s in sweeps))
    finally:
        await other.dispose()
    flat = [c for ids in returned for c in ids]
    assert sorted(flat) == sorted(waits)
    assert sorted(await told(services)) == sorted(waits)


async def test_an_agent_who_takes_between_the_sweeps_read_and_write_wins(
    client: Client, services: Services, app_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = await waiting(client, app_headers)
    staff = await make_staff(client, services)
    read = handoff.overdue

    async def take_after_the_read(session: Any, **where: Any) -> list[Conversation]:
        due = await read(session, **where)
        assert [c.id for c in due] == [conversation]
        await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 200)  # committed
        return due

    monkeypatch.setattr(handoff, "overdue", take_after_the_read)
    assert await sweeper(services).run_once(utcnow() + TOO_LATE) == []
    assert await told(services) == []  # the sweep saw it lost and wrote nothing
    assert await state_of(services, conversation) == ConversationState.WITH_AGENT
    [item] = (await get(client, LIVE, staff["agent"]))["items"]
    assert (item["conversation_id"], item["state"], item["agent"]) == (
        conversation, "with_agent", "agent",
    )  # fmt: skip


async def test_an_agent_who_takes_while_the_sweep_commits_is_refused(
    client: Client, services: Services, app_headers: Headers
) -> None:
    conversation = await waiting(client, app_headers)
    staff = await make_staff(client, services)
    attempts: list[asyncio.Task[Any]] = []

    class TakeBeforeCommit(Outgoing):
        """Lets the agent try to take the conversation while the sweep's write is uncommitted."""

        async def write_to_citizen(self, session: Any, **message: Any) -> Message:
            written = await super().write_to_citizen(session, **message)
            url = f"{LIVE}/{conversation}/take"
            attempts.append(asyncio.create_task(post(client, url, staff["agent"], 409)))
            await until_waiting(services.database, attempts[0])
            return written

    sweep = sweeper(services, writer=TakeBeforeCommit(push_channels=frozenset()))
    assert await sweep.run_once(utcnow() + TOO_LATE) == [conversation]
    refused = await asyncio.wait_for(attempts[0], 15)
    assert "its wait ran out" in refused["error"]["message"]
    assert await told(services) == [conversation]
    assert await state_of(services, conversation) == ConversationState.IDLE
    assert (await get(client, LIVE, staff["agent"]))["items"] == []
    async with services.database.read() as session:
        greetings = await session.execute(
            select(Message).where(col(Message.author).startswith("agent:"))
        )
        assert greetings.scalars().all() == []  # the loser wrote nothing
