"""The push outbox through the API: who was never reached, sending again, the counts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application
from sqlalchemy import update
from sqlmodel import col, select

from hotline.callbacks.wording import QUESTION_AUTHOR
from hotline.channels.push import Pusher, PushWorker
from hotline.channels.twilio.pusher import TwilioSmsPusher
from hotline.channels.wechat.api import WeChatApi
from hotline.routing.worker import WorkerSettings
from hotline.services import Services
from hotline.storage.models import CitizenPush, Message, PushStatus
from hotline.storage.types import utcnow
from hotline.web.app import create_app
from tests.channels.channel_services import channel_services
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.fake_wechat_api import FakeWeChatApi
from tests.channels.test_held_pushes import (
    SMS_FROM,
    WECHAT,
    resolved_wechat_ticket,
    written_days_ago,
)
from tests.channels.test_twilio import AUTH, SID, TWILIO
from tests.channels.test_wechat_push import NOTICE, SECRET, conversation_of, pushes
from tests.channels.wechat_platform import APP_ID
from tests.web.test_ticket_actions import history, make_staff

Client = TestClient[Any, Any]
Headers = dict[str, str]
ClientFactory = Callable[[Application], Awaitable[Client]]
PUSHES = "/api/v1/staff/pushes"
REPORT = "/api/v1/staff/reports/pushes"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
PHONE = "13912345678"
LONG = (
    f"请拨打{PHONE}联系社区网格员，他会在明天上午九点到十点之间上门查看您反映的楼道积水问题，"
    "请保持电话畅通，如有变动请及时与我们联系。"
)


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
    """Makes push workers that send one row at a time (the fake's script is then answered in
    the rows' order) and look for what is out of date every round; all stopped after."""
    made: list[PushWorker] = []

    def make(services: Services, wechat_url: str, *, sms_url: str | None = None) -> PushWorker:
        api = WeChatApi(app_id=APP_ID, app_secret=SECRET, base_url=wechat_url, notice=NOTICE)
        pushers: dict[str, Pusher] = {"wechat": api}
        if sms_url is not None:
            pushers["sms"] = TwilioSmsPusher(
                account_sid=SID, auth_token=AUTH, sms_from=SMS_FROM, api_base_url=sms_url
            )
        settings = WorkerSettings(concurrency=1, sweep_seconds=0.0, backoff_base_seconds=60.0)
        made.append(PushWorker(services.database, pushers, settings, name="w1"))
        return made[-1]

    yield make
    for runner in made:
        await runner.stop()


async def get(client: Client, headers: Headers | None, path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def post(client: Client, headers: Headers | None, path: str, status: int = 200) -> Any:
    response = await client.post(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def staffed(services: Services, aiohttp_client: ClientFactory) -> tuple[Client, Headers]:
    client = await aiohttp_client(create_app(services))
    return client, await make_staff(client, services)


async def one_of_each(services: Services, api: FakeWeChatApi, runner: PushWorker) -> dict[str, int]:
    """Five replies of an agent to one WeChat citizen, each left in another state: their ids."""
    conversation = await conversation_of(services, OPENID)
    # What the fake answers to each: delivered, unfollowed (final), an outage (tried again
    # later), the reply window closed; the last one is not tried.
    answers: dict[str, list[int | str] | None] = {
        "sent": [], "dead": [43004], "failed": ["http:502"], "held": [45015], "pending": None,
    }  # fmt: skip
    ids = {}
    for state, answer in answers.items():
        text = LONG if state == "dead" else f"{state}：您反映的问题已受理。"
        await services.pipeline.send_agent_reply(conversation_id=conversation, text=text, agent="a")
        if answer is not None:
            api.script = answer
            assert (await runner.run_once()).claimed == 1
        ids[state] = (await pushes(services))[-1].id or 0
    return ids


async def test_agents_and_supervisors_list_who_was_never_reached(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    ids = await one_of_each(services, api, worker(services, url))
    dead = await get(client, staff["boss"], f"{PUSHES}?status=dead")
    assert dead["total"] == 1
    [item] = dead["items"]
    assert item["id"] == ids["dead"]
    assert (item["channel"], item["status"], item["attempts"]) == ("wechat", "dead", 1)
    assert item["address"] == "*" * 24 + "fL2M"
    assert "43004" in item["last_error"]
    assert item["ticket"] is None  # an agent's reply in a conversation, not about a ticket
    assert item["conversation"] == (await conversation_of(services, OPENID))
    assert item["author"] == "agent:a"
    assert item["text"] == LONG.replace(PHONE, "139****5678")[:60] + "…"
    assert item["created_at"] <= item["updated_at"]
    for state in ("failed", "held", "sent", "pending"):
        listed = await get(client, staff["agent"], f"{PUSHES}?status={state}")
        assert [i["id"] for i in listed["items"]] == [ids[state]], state
        assert listed["items"][0]["status"] == state
    failed = (await get(client, staff["agent"], f"{PUSHES}?status=failed"))["items"][0]
    assert failed["next_attempt_at"] > failed["updated_at"]  # tried again after a pause
    everything = await client.get(PUSHES, headers=staff["agent"])
    raw = await everything.text()
    assert (json.loads(raw)["total"], OPENID in raw, PHONE in raw) == (5, False, False)


async def test_the_list_filters_and_pages(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    ids = await one_of_each(services, api, worker(services, url))
    first = await get(client, staff["boss"], f"{PUSHES}?limit=2")
    second = await get(client, staff["boss"], f"{PUSHES}?limit=2&offset=2")
    third = await get(client, staff["boss"], f"{PUSHES}?limit=2&offset=4")
    pages = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert pages == sorted(ids.values(), reverse=True)  # newest first, each once
    assert (first["total"], len(third["items"])) == (5, 1)
    assert (await get(client, staff["boss"], f"{PUSHES}?channel=sms"))["total"] == 0
    assert (await get(client, staff["boss"], f"{PUSHES}?channel=wechat"))["total"] == 5
    past = quote((utcnow() - timedelta(hours=1)).isoformat())
    future = quote((utcnow() + timedelta(hours=1)).isoformat())
    assert (await get(client, staff["boss"], f"{PUSHES}?since={past}"))["total"] == 5
    assert (await get(client, staff["boss"], f"{PUSHES}?since={future}"))["total"] == 0
    # A "+" left unescaped arrives as a space; the offset is still read.
    assert (await get(client, staff["boss"], f"{PUSHES}?since=2000-01-01T08:00:00+08:00"))[
        "total"
    ] == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=lost", "status: must be one of pending, failed, sent, held, dead, expired"),
        ("since=yesterday", "since: must be an ISO 8601 time"),
        ("since=2026-12-01T00:00:00", "since: give the time zone"),
        ("limit=0", "limit: must be between 1 and 500"),
        ("offset=-1", "offset: must be between"),
    ],
)
async def test_a_bad_query_is_refused_with_what_to_send(
    services: Services, aiohttp_client: ClientFactory, query: str, message: str
) -> None:
    client, staff = await staffed(services, aiohttp_client)
    error = (await get(client, staff["boss"], f"{PUSHES}?{query}", 422))["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(message)


async def test_only_agents_and_supervisors_read_and_retry(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    ids = await one_of_each(services, api, worker(services, url))
    before = await rows(services)
    for path in (PUSHES, REPORT):
        await get(client, None, path, 401)
        await get(client, staff["cg"], path, 403)
    await post(client, None, f"{PUSHES}/{ids['dead']}/retry", 401)
    refused = await post(client, staff["cg"], f"{PUSHES}/{ids['dead']}/retry", 403)
    assert refused["error"]["message"] == (
        "this action needs one of the roles: admin, agent, supervisor"
    )
    assert await rows(services) == before


async def rows(services: Services) -> list[dict[str, Any]]:
    return [
        {name: getattr(p, name) for name in CitizenPush.model_fields}
        for p in await pushes(services)
    ]


async def test_a_dead_message_sent_again_reaches_the_citizen(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    runner = worker(services, url)
    ids = await one_of_each(services, api, runner)
    retried = await post(client, staff["agent"], f"{PUSHES}/{ids['dead']}/retry")
    assert (retried["status"], retried["attempts"], retried["retried_by"]) == (
        "pending", 0, "agent:agent",
    )  # fmt: skip
    assert retried["next_attempt_at"] <= utcnow().isoformat()
    api.sent.clear()
    for _ in range(2):  # one row a round: the one never tried yet goes too
        assert (await runner.run_once()).claimed == 1
    assert [(m["touser"], m["text"]["content"]) for m in api.sent].count((OPENID, LONG)) == 1
    sent = (await get(client, staff["boss"], f"{PUSHES}?status=sent"))["items"]
    [item] = [i for i in sent if i["id"] == ids["dead"]]
    assert (item["id"], item["retried_by"], item["attempts"]) == (ids["dead"], "agent:agent", 1)
    assert item["retried_at"] is not None
    await post(client, staff["boss"], f"{PUSHES}/{ids['dead']}/retry", 409)  # sent now


async def test_what_cannot_be_sent_again_is_refused_and_left_as_it_was(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    ids = await one_of_each(services, api, worker(services, url))
    async with services.database.session() as session:  # the dead row is a callback question
        dead = await session.get(CitizenPush, ids["dead"])
        assert dead is not None
        await session.execute(
            update(Message).where(col(Message.id) == dead.message_id).values(author=QUESTION_AUTHOR)
        )
    before = await rows(services)
    expected = {
        "sent": "was sent at",
        "held": "is held for the citizen's next message on wechat",
        "failed": "is failed and still being tried (1 attempts so far)",
        "pending": "is pending and still being tried (0 attempts so far)",
        "dead": "is a satisfaction-callback question",
    }
    for state, message in expected.items():
        error = (await post(client, staff["boss"], f"{PUSHES}/{ids[state]}/retry", 409))["error"]
        assert (error["code"], message in error["message"]) == ("conflict", True), error
    for missing in ("424242", "abc", "%C2%B2", "9" * 19):
        error = (await post(client, staff["boss"], f"{PUSHES}/{missing}/retry", 404))["error"]
        assert error["message"].endswith("does not exist")
    assert await rows(services) == before


async def test_an_expired_resolution_sent_again_is_audited_and_may_wait_another_week(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    number, client, staff = await resolved_wechat_ticket(services, aiohttp_client)
    runner = worker(services, url)  # no SMS: the resolution has no other way
    api.script = [45015]
    assert (await runner.run_once()).held == 1
    await written_days_ago(services, 8)
    assert (await runner.run_once()).expired == 1
    [item] = (await get(client, staff["boss"], f"{PUSHES}?status=expired"))["items"]
    assert (item["ticket"], item["sent_instead"]) == (number, None)
    assert item["text"].startswith(f"【工单 {number} 办理结果】")

    retried = await post(client, staff["boss"], f"{PUSHES}/{item['id']}/retry")
    assert (retried["status"], retried["held_until"]) == ("pending", None)
    line = (await history(client, staff["boss"], number))[-1]
    assert (line["action"], line["actor"], line["from"], line["to"]) == (
        "push_retried", "supervisor:boss", "expired", str(item["id"]),
    )  # fmt: skip
    assert line["note"].startswith(
        "经微信发给市民的消息重新发送（此前等待市民留言超时未发送，已尝试1次"
    )
    # The window is still closed: held again, for a week from the retry, not from the writing.
    api.script = [45015]
    assert (await runner.run_once()).held == 1
    assert (await runner.run_once()).expired == 0
    [held] = await pushes(services)
    assert held.status == PushStatus.HELD
    assert held.held_until is not None
    assert held.held_until > utcnow() + timedelta(days=6)


async def test_an_expired_resolution_sent_by_sms_instead_is_not_sent_again(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    twilio: tuple[FakeTwilioApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    (api, url), (sms, sms_url) = wechat, twilio
    number, client, staff = await resolved_wechat_ticket(services, aiohttp_client)
    runner = worker(services, url, sms_url=sms_url)
    api.script = [45015]
    assert (await runner.run_once()).held == 1
    await written_days_ago(services, 8)
    assert (await runner.run_once()).rerouted == 1
    held, instead = await pushes(services)
    [item] = (await get(client, staff["agent"], f"{PUSHES}?status=expired"))["items"]
    assert item["sent_instead"] == {"id": instead.id, "channel": "sms", "status": "sent"}
    [copy] = (await get(client, staff["agent"], f"{PUSHES}?channel=sms"))["items"]
    assert (copy["address"], copy["ticket"], len(sms.sent)) == ("138****8000", number, 1)
    before = await rows(services)
    error = (await post(client, staff["agent"], f"{PUSHES}/{held.id}/retry", 409))["error"]
    assert error["message"].startswith(
        f"push {held.id} expired and its message was sent another way instead "
        f"(push {instead.id} by sms, sent)"
    )
    assert await rows(services) == before
    assert [h["action"] for h in await history(client, staff["agent"], number)][-1] == (
        "result_rerouted"
    )


async def test_the_report_counts_each_state_per_channel(
    services: Services,
    wechat: tuple[FakeWeChatApi, str],
    worker: Workers,
    aiohttp_client: ClientFactory,
) -> None:
    api, url = wechat
    client, staff = await staffed(services, aiohttp_client)
    await one_of_each(services, api, worker(services, url))
    found = await get(client, staff["boss"], f"{REPORT}?days=7")
    counts = {"messages": 5, "pending": 1, "failed": 1, "sent": 1, "held": 1, "dead": 1}
    assert found["rows"] == [{"channel": "wechat", **counts, "expired": 0}]
    assert found["total"] == {**counts, "expired": 0}
    assert found["days"] == 7
    async with services.database.session() as session:  # written long ago: out of the window
        await session.execute(update(CitizenPush).values(created_at=utcnow() - timedelta(days=8)))
    assert (await get(client, staff["agent"], f"{REPORT}?days=7"))["rows"] == []
    assert (await get(client, staff["agent"], REPORT))["total"]["messages"] == 5
    await get(client, staff["boss"], f"{REPORT}?days=0", 422)


async def test_a_pushes_row_changes_its_updated_at_with_every_write(
    services: Services, wechat: tuple[FakeWeChatApi, str], worker: Workers
) -> None:
    api, url = wechat
    conversation = await conversation_of(services, OPENID)
    await services.pipeline.send_agent_reply(conversation_id=conversation, text="a", agent="a")
    [written] = await pushes(services)
    async with services.database.session() as session:
        await session.execute(
            update(CitizenPush).values(
                created_at=utcnow() - timedelta(hours=1), updated_at=utcnow() - timedelta(hours=1)
            )
        )
    api.script = [43004]
    await worker(services, url).run_once()  # leased and settled by bulk updates
    async with services.database.read() as session:
        dead = (await session.execute(select(CitizenPush))).scalars().one()
    assert dead.status == PushStatus.DEAD
    assert dead.updated_at > utcnow() - timedelta(minutes=1)
    assert written.updated_at >= written.created_at
