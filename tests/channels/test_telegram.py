"""The Telegram bot channel: updates (built with aiogram's own types) through the intake,
replies as the webhook's answer, later messages pushed through the Bot API by aiogram."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Chat, Contact, Location, Message, Update, User
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import func, select

from hotline.channels.push import PushWorker
from hotline.channels.telegram.adapter import (
    CUT_NOTE,
    SECRET_HEADER,
    UNSUPPORTED,
    fit,
    send_message,
)
from hotline.channels.telegram.pusher import TelegramPusher
from hotline.config import parse_config
from hotline.errors import ConfigError
from hotline.intake.messages import OutboundReply
from hotline.routing.worker import WorkerSettings
from hotline.services import Services
from hotline.storage.models import CitizenPush, PushStatus, Ticket
from hotline.storage.models import Message as StoredMessage
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.fake_telegram_api import FakeBotApi

Client = TestClient[Any, Any]
ClientFactory = Callable[[Application], Awaitable[Client]]
PATH = "/channels/telegram"
BOT_TOKEN = "123456:test-bot-token"
SECRET = "webhook-secret-0123456789"
TELEGRAM = {"enabled": True, "bot_token": BOT_TOKEN, "webhook_secret": SECRET}
CITIZEN = User(id=777, is_bot=False, first_name="小明", last_name="王")
CHAT = Chat(id=777, type="private")
_ids = iter(range(1, 1_000_000))


def update(chat: Chat = CHAT, **content: Any) -> dict[str, Any]:
    n = next(_ids)
    message = Message(message_id=n, date=datetime.now(UTC), chat=chat, from_user=CITIZEN, **content)
    built = Update(update_id=n, message=message)
    return dict(built.model_dump(mode="json", exclude_none=True, by_alias=True))


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    async with channel_services(
        tmp_path, database_url, analyzer, encoder, telegram=TELEGRAM
    ) as built:
        yield built


@pytest.fixture
async def client(services: Services, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_app(services))


async def post(client: Client, body: Any, secret: str | None = SECRET) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        PATH, data=io.BytesIO(data), headers={**headers, "Content-Type": "application/json"}
    )


async def answer(response: Any) -> dict[str, Any]:
    assert response.status == 200, await response.text()
    body = await response.json()
    assert isinstance(body, dict)
    return body


async def stored(services: Services, model: Any = StoredMessage) -> int:
    async with services.database.read() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_text_is_answered_with_a_send_message_call(
    client: Client, services: Services
) -> None:
    body = await answer(await post(client, update(text="你好")))
    assert (body["method"], body["chat_id"]) == ("sendMessage", 777)
    assert body["text"]
    async with services.database.read() as session:
        rows = (await session.execute(select(StoredMessage))).scalars().all()
    assert {(m.channel, m.direction) for m in rows} == {("telegram", "in"), ("telegram", "out")}


async def test_a_retried_update_gets_the_first_answer_once(
    client: Client, services: Services
) -> None:
    same = update(text="我要投诉噪音")
    first = await answer(await post(client, same))
    count = await stored(services)
    assert await answer(await post(client, same)) == first
    assert await stored(services) == count


async def test_start_welcomes_and_what_cannot_be_read_is_said_so(
    client: Client, services: Services
) -> None:
    welcome = await answer(await post(client, update(text="/start")))
    assert "12345" in welcome["text"]
    sticker = await answer(await post(client, update(caption="一张照片")))
    assert sticker["text"] == UNSUPPORTED
    assert await stored(services) == 0


async def test_a_conversation_with_a_shared_location_and_contact_files_a_ticket(
    client: Client, services: Services
) -> None:
    await post(client, update(text="我要投诉，小区门口的烧烤摊油烟太大了"))
    await post(client, update(location=Location(latitude=30.2741, longitude=120.1551)))
    place = await answer(await post(client, update(text="江北区望江路18号")))
    assert place["text"]
    # Telegram gives the number in international form, often without its +
    own = Contact(phone_number="8613800138000", first_name="小明", user_id=CITIZEN.id)
    confirm = await answer(await post(client, update(contact=own)))
    assert confirm["text"]
    done = await answer(await post(client, update(text="确认")))
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert (ticket.channel, ticket.contact_phone) == ("telegram", "+8613800138000")
    assert ticket.number in done["text"]


async def test_someone_elses_contact_is_not_taken_as_the_citizens(client: Client) -> None:
    other = Contact(phone_number="13900139000", first_name="邻居", user_id=999)
    body = await answer(await post(client, update(contact=other)))
    assert body["text"] == UNSUPPORTED


def test_choices_become_a_one_time_keyboard() -> None:
    asked = OutboundReply("以上答复是否解决了您的问题？", choices=("解决了", "没解决"))
    call = send_message(777, [OutboundReply("社保卡补办：……"), asked])
    assert call["text"] == "社保卡补办：……\n\n以上答复是否解决了您的问题？"
    assert call["reply_markup"]["keyboard"] == [[{"text": "解决了"}], [{"text": "没解决"}]]
    assert call["reply_markup"]["one_time_keyboard"] is True
    assert "reply_markup" not in send_message(777, [OutboundReply("好的")])


async def test_an_emergency_is_referred(client: Client) -> None:
    body = await answer(await post(client, update(text="救命 有人拿刀在砍人")))
    assert "请立即拨打110" in body["text"]


async def test_groups_and_edits_are_ignored(client: Client, services: Services) -> None:
    group = Chat(id=-100, type="group")
    assert await answer(await post(client, update(chat=group, text="大家好"))) == {}
    edited = {"update_id": 99, "edited_message": update(text="x")["message"]}
    assert await answer(await post(client, edited)) == {}
    assert await stored(services) == 0


@pytest.mark.parametrize(
    ("body", "secret", "status", "code"),
    [
        ({"update_id": 1}, None, 401, "bad_signature"),
        ({"update_id": 1}, "wrong-secret-0123456789", 401, "bad_signature"),
        (b"{not json", SECRET, 400, "malformed_json"),
        (b"[" * 50_000, SECRET, 400, "malformed_json"),
        ({"message": {"text": "no update id"}}, SECRET, 400, "malformed_update"),
        (b" " * 2_000_000, SECRET, 413, "payload_too_large"),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_stored(
    client: Client, services: Services, body: Any, secret: str | None, status: int, code: str
) -> None:
    response = await post(client, body, secret)
    assert response.status == status, await response.text()
    assert (await response.json())["error"]["code"] == code
    assert await stored(services) == 0


def test_a_long_answer_is_cut_to_one_message() -> None:
    assert fit("短") == "短"
    cut = fit("政策" * 3000)
    assert len(cut) == 4096
    assert cut.endswith(CUT_NOTE)


def test_an_enabled_bot_needs_its_secrets() -> None:
    def config(**telegram: Any) -> None:
        parse_config({"channels": {"app": {"api_key": "k"}, "telegram": telegram}}, env={})

    with pytest.raises(ConfigError, match=r"channels\.telegram\.bot_token"):
        config(enabled=True, webhook_secret=SECRET)
    with pytest.raises(ConfigError, match=r"channels\.telegram\.webhook_secret"):
        config(enabled=True, bot_token=BOT_TOKEN, webhook_secret="short")
    with pytest.raises(ConfigError, match=r"channels\.telegram\.webhook_secret"):
        config(enabled=True, bot_token=BOT_TOKEN, webhook_secret="has spaces in it!!!")
    config(**TELEGRAM)


# -- pushes -------------------------------------------------------------------------------------


async def test_an_agents_reply_is_pushed_with_aiogram(
    client: Client,
    services: Services,
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> None:
    api = FakeBotApi(BOT_TOKEN)
    server = await aiohttp_server(api.app())
    await post(client, update(text="你好"))
    async with services.database.read() as session:
        conversation_id = (await session.execute(select(StoredMessage))).scalars().first()
    assert conversation_id is not None
    await services.pipeline.send_agent_reply(
        conversation_id=conversation_id.conversation_id, text="您的诉求已转交。", agent="a"
    )
    pusher = TelegramPusher(bot_token=BOT_TOKEN, api_base_url=str(server.make_url("")).rstrip("/"))
    runner = PushWorker(services.database, {"telegram": pusher}, WorkerSettings(), name="t1")
    report = await runner.run_once()
    assert report.sent == 1
    assert [(m["chat_id"], m["text"]) for m in api.sent] == [("777", "您的诉求已转交。")]
    # A citizen who blocked the bot: final, dead-lettered at once. A Telegram outage: retried.
    for text, error in (("第二条", (403, "Forbidden: bot was blocked by the user")),
                        ("第三条", (502, "Bad Gateway"))):  # fmt: skip
        await services.pipeline.send_agent_reply(
            conversation_id=conversation_id.conversation_id, text=text, agent="a"
        )
        api.script = [error]
        await runner.run_once()
    async with services.database.read() as session:
        rows = list((await session.execute(select(CitizenPush).order_by(CitizenPush.id))).scalars())
    assert [r.status for r in rows] == [PushStatus.SENT, PushStatus.DEAD, PushStatus.PENDING]
    assert "blocked" in (rows[1].last_error or "")
    await runner.stop()
