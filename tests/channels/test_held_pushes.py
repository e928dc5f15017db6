"""Messages WeChat holds for the citizen's next message: out of date after ``max_hold_days``
(a resolution then goes by SMS), and one notice however many workers hold them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import update
from sqlmodel import col

from hotline.channels.held import HoldPolicy
from hotline.channels.push import Pusher, PushWorker
from hotline.channels.twilio.pusher import TwilioSmsPusher
from hotline.channels.wechat.api import WeChatApi
from hotline.intake.messages import InboundMessage
from hotline.routing.worker import WorkerSettings
from hotline.services import Services
from hotline.storage.db import Database
from hotline.storage.models import CitizenPush, PushStatus
from hotline.storage.types import utcnow
from hotline.web.app import create_app
from hotline.workers import build_pusher
from tests.channels.channel_services import channel_services
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.fake_wechat_api import FakeWeChatApi
from tests.channels.test_twilio import AUTH, SID, TWILIO
from tests.channels.test_wechat_push import NOTICE, SECRET, conversation_of, pushes
from tests.channels.wechat_platform import APP_ID, TOKEN
from tests.conftest import API_KEY, make_config
from tests.web.test_ticket_actions import act, history, make_staff

Client = TestClient[Any, Any]
Headers = dict[str, str]
WECHAT = {"enabled": True, "token": TOKEN, "app_id": APP_ID, "app_secret": SECRET}
SMS_FROM = TWILIO["sms_from"]


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    async with channel_services(
        tmp_path, database_url, analyzer, encoder, wechat=WECHAT, twilio=TWILIO
    ) as built:
        yield built


@pytest.fixture
async def wechat(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[FakeWeChatApi, str]:
    api = FakeWeChatApi(APP_ID, SECRET)
    return api, str((await aiohttp_server(api.app())).make_url(""))


@pytest.fixture
async def twilio(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[FakeTwilioApi, str]:
    api = FakeTwilioApi(SID)
    return api, str((await aiohttp_server(api.app())).make_url("")).rstrip("/")


Workers = Callable[..., PushWorker]


@pytest.fixture
async def worker() -> AsyncIterator[Workers]:
    """Makes push workers (WeChat with a notice template, and SMS with ``sms_url``); all are
    stopped (their clients closed) after the test."""
    made: list[PushWorker] = []

    def make(
        database: Database,
        wechat_url: str,
        *,
        sms_url: str | None = None,
        name: str = "w1",
        **settings: Any,
    ) -> PushWorker:
        api = WeChatApi(app_id=APP_ID, app_secret=SECRET, base_url=wechat_url, notice=NOTICE)
        pushers: dict[str, Pusher] = {"wechat": api}
        if sms_url is not None:
            pushers["sms"] = TwilioSmsPusher(
                account_sid=SID, auth_token=AUTH, sms_from=SMS_FROM, api_base_url=sms_url
            )
        settings = {"sweep_seconds": 0.0, **settings}  # every round looks for what is out of date
        made.append(PushWorker(database, pushers, WorkerSettings(**settings), name=name))
        return made[-1]

    yield make
    for runner in made:
        await runner.stop()


async def written_days_ago(services: Services, days: float, *, push_id: int | None = None) -> None:
    """The held message ``push_id`` (default: every one) was written ``days`` ago, and held for
    the default week."""
    written = utcnow() - timedelta(days=days)
    statement = update(CitizenPush).where(col(CitizenPush.status) == PushStatus.HELD)
    if push_id is not None:
        statement = statement.where(col(CitizenPush.id) == push_id)
    async with services.database.session() as session:
        await session.execute(
            statement.values(created_at=written, held_until=written + HoldPolicy().max_hold)
        )


async def test_a_message_held_past_the_maximum_is_never_delivered(
    services: Services, wechat: tuple[FakeWeChatApi, str], worker: Workers
) -> None:
    api, url = wechat
    conversation = await conversation_of(services, "o-late")
    for text in ("您反映的问题已转交城管部门。", "城管部门明天上午到现场。"):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="a")
    runner = worker(services.database, url)
    api.script = [45015, 45015]
    assert (await runner.run_once()).held == 2
    old, fresh = await pushes(services)
    assert old.held_until is not None
    assert old.held_until - old.created_at == timedelta(days=7)
    await written_days_ago(services, 8, push_id=old.id)
    # The citizen comes back before any sweep: only the message still in date is released.
    await services.pipeline.submit(
        InboundMessage(channel="wechat", sender="o-late", external_id="o-late-2", text="在吗")
    )
    assert [row.status for row in await pushes(services)] == [PushStatus.HELD, PushStatus.PENDING]
    report = await runner.run_once()
    assert (report.expired, report.rerouted, report.sent) == (1, 0, 1)
    assert [m["text"]["content"] for m in api.sent] == ["城管部门明天上午到现场。"]
    old, fresh = await pushes(services)
    assert (old.status, fresh.status) == (PushStatus.EXPIRED, PushStatus.SENT)
    assert "out of date" in (old.last_error or "")
    assert (await runner.run_once()).claimed == 0
    assert len(api.templates) == 1  # told once that messages wait


async def resolved_wechat_ticket(
    services: Services, aiohttp_client: Callable[[Application], Awaitable[Client]]
) -> tuple[str, Client, dict[str, Headers]]:
    """A WeChat citizen's complaint with their phone, resolved by 城管: (number, client, staff)."""
    turns = ["我要投诉，小区门口的烧烤摊油烟太大了", "江北区望江路18号", "13800138000", "确认"]
    for i, text in enumerate(turns):
        message = InboundMessage(channel="wechat", sender="o-r", external_id=f"o-r-{i}", text=text)
        result = await services.pipeline.submit(message)
    assert result.ticket is not None
    number = result.ticket.number
    client = await aiohttp_client(create_app(services))
    staff = await make_staff(client, services)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="摊位已取缔")
    return number, client, staff


async def test_a_resolution_held_too_long_goes_by_sms_to_the_tickets_phone(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    twilio: tuple[FakeTwilioApi, str],
    aiohttp_client: Callable[[Application], Awaitable[Client]],
    worker: Workers,
) -> None:
    (api, url), (sms, sms_url) = wechat, twilio
    number, client, staff = await resolved_wechat_ticket(services, aiohttp_client)
    runner = worker(services.database, url, sms_url=sms_url)
    api.script = [45015]
    assert (await runner.run_once()).held == 1
    await written_days_ago(services, 7.5)
    report = await runner.run_once()
    assert (report.expired, report.rerouted, report.sent) == (1, 1, 1)  # sent in the same round
    result = f"【工单 {number} 办理结果】摊位已取缔"
    assert sms.sent == [{"To": "+8613800138000", "From": SMS_FROM, "Body": result}]
    assert api.sent == []
    held, instead = await pushes(services)
    assert (held.channel, held.status) == ("wechat", PushStatus.EXPIRED)
    assert (instead.channel, instead.status) == ("sms", PushStatus.SENT)
    rerouted = (await history(client, staff["agent"], number))[-1]
    assert (rerouted["action"], rerouted["from"], rerouted["to"]) == (
        "result_rerouted", "wechat", "sms",
    )  # fmt: skip
    assert rerouted["note"] == (
        "办理结果在微信等待市民留言超过7天未能送达，改经短信（138****8000）发送"
    )
    await services.pipeline.submit(
        InboundMessage(channel="wechat", sender="o-r", external_id="o-r-9", text="你好")
    )
    assert (await runner.run_once()).sent == 0  # nothing comes late on WeChat


async def test_a_resolution_with_no_other_way_is_left_in_the_tickets_history(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    aiohttp_client: Callable[[Application], Awaitable[Client]],
    worker: Workers,
) -> None:
    api, url = wechat
    number, client, staff = await resolved_wechat_ticket(services, aiohttp_client)
    runner = worker(services.database, url)  # this worker sends no SMS
    api.script = [45015]
    assert (await runner.run_once()).held == 1
    await written_days_ago(services, 8)
    report = await runner.run_once()
    assert (report.expired, report.rerouted) == (1, 0)
    (row,) = await pushes(services)
    assert row.status == PushStatus.EXPIRED
    expired = (await history(client, staff["agent"], number))[-1]
    assert (expired["action"], expired["actor"], expired["to"]) == (
        "notice_expired", "system", "wechat",
    )  # fmt: skip
    assert expired["note"].startswith("发给市民的消息在微信等待市民留言超过7天，已过时，未发送：")
    assert f"【工单 {number} 办理结果】" in expired["note"]
    assert api.sent == []


async def test_two_workers_holding_messages_for_one_citizen_at_once_tell_them_once(
    services: Services, wechat: tuple[FakeWeChatApi, str], database_url: str, worker: Workers
) -> None:
    """Two ``hotline worker`` processes, each with its own connections, hear at the same moment
    that the citizen's window has closed."""
    api, url = wechat
    conversation = await conversation_of(services, "o-both")
    for text in ("一", "二"):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="a")
    other = Database(database_url)
    first = worker(services.database, url, concurrency=1)
    second = worker(other, url, name="w2", concurrency=1)
    api.script, api.together = [45015, 45015], asyncio.Barrier(2)
    try:
        reports = await asyncio.wait_for(
            asyncio.gather(first.run_once(), second.run_once()), timeout=30
        )
    finally:
        await other.dispose()
    assert [r.held for r in reports] == [1, 1]
    assert sum(r.notified for r in reports) == 1
    assert [t["touser"] for t in api.templates] == ["o-both"]


async def test_the_maximum_hold_is_configured_with_the_wechat_channel(
    tmp_path: Path, database_url: str
) -> None:
    wechat = {**WECHAT, "max_hold_days": 2.5}
    channels = {"app": {"api_key": API_KEY}, "wechat": wechat}
    config = make_config(
        tmp_path, database_url, channels=channels, callbacks={"country_code": "+852"}
    )
    database = Database(database_url)
    pusher = build_pusher(config, database)
    assert pusher is not None
    assert pusher.hold.max_hold == timedelta(days=2.5)
    assert pusher.hold.reach.country_code == "+852"  # how a ticket's phone is dialled instead
    await pusher.stop()
    await database.dispose()
