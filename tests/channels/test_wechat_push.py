"""Later messages to WeChat citizens (agents' replies, resolutions) are pushed through the
customer-service API from an outbox written with the message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from click.testing import CliRunner
from sqlalchemy import select

from hotline.channels.push import PushWorker
from hotline.channels.wechat.api import NoticeTemplate, WeChatApi
from hotline.cli.main import cli
from hotline.config import load_config
from hotline.intake.messages import InboundMessage
from hotline.routing.worker import WorkerSettings
from hotline.services import Services, build_services
from hotline.storage.models import CitizenPush, PushStatus
from hotline.storage.types import utcnow
from tests.channels.channel_services import channel_services
from tests.channels.fake_wechat_api import FakeWeChatApi
from tests.channels.wechat_platform import APP_ID, TOKEN
from tests.conftest import API_KEY, make_config, shipped_config_without_classifier

SECRET = "app-s3cret"


@pytest.fixture
async def fake(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
) -> tuple[FakeWeChatApi, str]:
    api = FakeWeChatApi(APP_ID, SECRET)
    server = await aiohttp_server(api.app())
    return api, str(server.make_url(""))


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    wechat = {"enabled": True, "token": TOKEN, "app_id": APP_ID, "app_secret": SECRET}
    async with channel_services(tmp_path, database_url, analyzer, encoder, wechat=wechat) as built:
        yield built


NOTICE = NoticeTemplate("tpl-notice", {"thing1": "您有一条12345热线的新消息"})


def worker(
    services: Services, base_url: str, notice: NoticeTemplate | None = None, **settings: Any
) -> PushWorker:
    api = WeChatApi(app_id=APP_ID, app_secret=SECRET, base_url=base_url, notice=notice)
    return PushWorker(services.database, {"wechat": api}, WorkerSettings(**settings), name="w1")


async def conversation_of(services: Services, openid: str, channel: str = "wechat") -> str:
    message = InboundMessage(channel=channel, sender=openid, external_id=f"{openid}-1", text="你好")
    return (await services.pipeline.submit(message)).conversation_id


async def pushes(services: Services) -> list[CitizenPush]:
    async with services.database.read() as session:
        return list((await session.execute(select(CitizenPush).order_by(CitizenPush.id))).scalars())


async def test_an_agents_reply_is_pushed_once(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-citizen-1")
    assert await pushes(services) == []  # the greeting went back as the passive reply
    await services.pipeline.send_agent_reply(
        conversation_id=conversation, text="您好，您反映的问题已转交城管部门。", agent="a1"
    )
    (queued,) = await pushes(services)
    assert (queued.status, queued.address) == (PushStatus.PENDING, "o-citizen-1")
    runner = worker(services, url)
    report = await runner.run_once()
    assert (report.claimed, report.sent) == (1, 1)
    assert api.sent == [
        {
            "touser": "o-citizen-1",
            "msgtype": "text",
            "text": {"content": "您好，您反映的问题已转交城管部门。"},
        }
    ]
    (done,) = await pushes(services)
    assert done.status == PushStatus.SENT
    assert (await runner.run_once()).claimed == 0
    await runner.stop()


async def test_an_expired_token_is_fetched_again_and_the_push_goes_through(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-2")
    runner = worker(services, url)
    for text in ("第一条", "第二条"):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="a")
    api.script = [42001]  # the first send finds the token expired
    report = await runner.run_once()
    assert report.sent == 2
    assert sorted(m["text"]["content"] for m in api.sent) == sorted(["第一条", "第二条"])
    assert api.tokens_issued == 2  # one at first, one after the expiry; the rest cached
    await runner.stop()


async def test_an_unfollowed_citizen_is_final_and_an_outage_is_retried(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-3")
    runner = worker(services, url, backoff_base_seconds=30.0)
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="a", agent="x")
    api.script = [43004]  # the citizen unfollowed the account
    assert (await runner.run_once()).dead == 1
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="b", agent="x")
    api.script = ["http:502"]
    assert (await runner.run_once()).failed == 1
    dead, retried = await pushes(services)
    assert dead.status == PushStatus.DEAD
    assert "43004" in (dead.last_error or "")
    assert retried.status == PushStatus.PENDING
    assert retried.attempts == 1
    assert retried.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert "502" in (retried.last_error or "")
    assert (await runner.run_once()).claimed == 0  # not due yet
    await runner.stop()


async def test_after_the_reply_window_messages_wait_for_the_citizen_who_is_told_once(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-7")
    runner = worker(services, url, notice=NOTICE)
    for text in ("您的诉求已办结。", "请对办理结果评价：回复1满意，2基本满意，3不满意。"):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="x")
    api.script = [45015, 45015]  # more than 48 hours since the citizen last wrote
    report = await runner.run_once()
    assert (report.held, report.notified, report.dead) == (2, 1, 0)
    assert [row.status for row in await pushes(services)] == [PushStatus.HELD] * 2
    assert api.templates == [
        {
            "touser": "o-7",
            "template_id": "tpl-notice",
            "data": {"thing1": {"value": "您有一条12345热线的新消息"}},
        }
    ]
    assert (await runner.run_once()).claimed == 0  # held rows are not retried on their own
    # The citizen writes again: the window is open, the held messages go out in order.
    later = InboundMessage(channel="wechat", sender="o-7", external_id="o-7-2", text="好的")
    await services.pipeline.submit(later)
    assert (await runner.run_once()).sent == 2
    assert [m["text"]["content"] for m in api.sent] == [
        "您的诉求已办结。",
        "请对办理结果评价：回复1满意，2基本满意，3不满意。",
    ]
    assert [row.status for row in await pushes(services)] == [PushStatus.SENT] * 2
    assert len(api.templates) == 1
    await runner.stop()


async def test_without_a_template_or_when_the_notice_fails_messages_still_wait(
    services: Services, fake: tuple[FakeWeChatApi, str], caplog: pytest.LogCaptureFixture
) -> None:
    api, url = fake
    silent = await conversation_of(services, "o-8")
    told = await conversation_of(services, "o-9")
    await services.pipeline.send_agent_reply(conversation_id=silent, text="a", agent="x")
    api.script = [45015]
    plain, noticing = worker(services, url), worker(services, url, notice=NOTICE)
    report = await plain.run_once()
    assert (report.held, report.notified) == (1, 0)
    await services.pipeline.send_agent_reply(conversation_id=told, text="b", agent="x")
    api.script, api.template_script = [45047], [43004]  # quota used up; then unfollowed
    report = await noticing.run_once()
    assert (report.held, report.notified) == (1, 0)
    await plain.stop()
    await noticing.stop()
    assert "push.notice_failed" in caplog.text
    assert [row.status for row in await pushes(services)] == [PushStatus.HELD] * 2
    assert api.templates == []


async def test_a_citizen_writing_releases_only_their_own_held_messages(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    first, second = await conversation_of(services, "o-10"), await conversation_of(services, "o-11")
    for conversation in (first, second):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text="x", agent="a")
    api.script = [45015, 45015]
    runner = worker(services, url)
    assert (await runner.run_once()).held == 2
    await runner.stop()
    await services.pipeline.submit(
        InboundMessage(channel="wechat", sender="o-11", external_id="o-11-2", text="在吗")
    )
    statuses = {row.address: row.status for row in await pushes(services)}
    assert statuses == {"o-10": PushStatus.HELD, "o-11": PushStatus.PENDING}


async def test_after_max_attempts_a_push_is_dead_lettered(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-4")
    runner = worker(services, url, max_attempts=2, backoff_base_seconds=0.0)
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="a", agent="x")
    api.script = ["http:500", "http:500"]
    assert (await runner.run_once()).failed == 1
    assert (await runner.run_once()).dead == 1
    (row,) = await pushes(services)
    assert (row.status, row.attempts) == (PushStatus.DEAD, 2)
    await runner.stop()


async def test_a_batch_leases_no_more_than_it_sends_at_once(
    services: Services, fake: tuple[FakeWeChatApi, str]
) -> None:
    api, url = fake
    conversation = await conversation_of(services, "o-6")
    for text in ("一", "二", "三"):
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="x")
    runner = worker(services, url, concurrency=2)
    assert [(await runner.run_once()).sent for _ in range(3)] == [2, 1, 0]
    assert sorted(m["text"]["content"] for m in api.sent) == sorted(["一", "二", "三"])
    await runner.stop()


async def test_an_unreachable_api_leaves_the_push_pending(services: Services) -> None:
    conversation = await conversation_of(services, "o-5")
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="a", agent="x")
    runner = worker(services, "http://127.0.0.1:9", backoff_base_seconds=60.0)
    assert (await runner.run_once()).failed == 1
    (row,) = await pushes(services)
    assert row.status == PushStatus.PENDING
    assert "unreachable" in (row.last_error or "")
    await runner.stop()


async def test_other_channels_are_not_pushed(services: Services) -> None:
    conversation = await conversation_of(services, "app-user", channel="app")
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="a", agent="x")
    assert await pushes(services) == []


async def test_the_embedded_pusher_runs_with_the_server(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> None:
    wechat = {"enabled": True, "token": TOKEN, "app_id": APP_ID, "app_secret": SECRET}
    channels = {"app": {"api_key": API_KEY}, "wechat": wechat}
    embedded = make_config(
        tmp_path, database_url, channels=channels, dispatch={"embedded": "always"}
    )
    built = build_services(embedded, analyzer=analyzer, encoder=encoder)
    assert built.pusher is not None
    assert built.pusher.pushers.keys() == {"wechat"}
    await built.database.dispose()
    without = make_config(tmp_path, database_url, dispatch={"embedded": "always"})
    plain = build_services(without, analyzer=analyzer, encoder=encoder)
    assert plain.pusher is None
    await plain.database.dispose()


def test_hotline_worker_pushes_what_the_server_queued(
    database_url: str, tmp_path: Path, analyzer: Any, encoder: Any
) -> None:
    """The PostgreSQL layout: the server queues, a separate ``hotline worker`` pushes."""
    shipped = shipped_config_without_classifier(tmp_path).read_text(encoding="utf-8")
    wechat_off = "  wechat:\n    # A WeChat"
    assert wechat_off in shipped

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        api = FakeWeChatApi(APP_ID, SECRET)
        server = TestServer(api.app())
        await server.start_server()
        text = shipped.replace(
            "    enabled: false\n    token: ${HOTLINE_WECHAT_TOKEN",
            "    enabled: true\n    token: ${HOTLINE_WECHAT_TOKEN",
        )
        text = text.replace(
            "api_base_url: https://api.weixin.qq.com", f"api_base_url: {server.make_url('')}"
        )
        path = tmp_path / "wechat.yml"
        path.write_text(text, encoding="utf-8")
        env = {
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_DATA_DIR": str(tmp_path / "data"),
            "HOTLINE_APP_API_KEY": API_KEY,
            "HOTLINE_CONFIG": str(path),
            "HOTLINE_WECHAT_TOKEN": TOKEN,
            "HOTLINE_WECHAT_APP_ID": APP_ID,
            "HOTLINE_WECHAT_APP_SECRET": SECRET,
        }
        runner = CliRunner()
        try:
            init = await asyncio.to_thread(runner.invoke, cli, ["init"], env=env)
            assert init.exit_code == 0, init.output
            services = build_services(load_config(path, env), analyzer=analyzer, encoder=encoder)
            try:
                conversation = await conversation_of(services, "o-cli")
                await services.pipeline.send_agent_reply(
                    conversation_id=conversation, text="已为您登记。", agent="a"
                )
            finally:
                await services.database.dispose()
            result = await asyncio.to_thread(runner.invoke, cli, ["worker", "--once"], env=env)
            assert result.exit_code == 0, result.output
            return result.output, api.sent
        finally:
            await server.close()

    output, sent = asyncio.run(scenario())
    assert "pushed 1 to citizens, failed 0 (will retry), dead-lettered 0" in output
    assert [(m["touser"], m["text"]["content"]) for m in sent] == [("o-cli", "已为您登记。")]
