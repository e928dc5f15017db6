"""转人工: a citizen asks for a person, waits in the live queue, an agent takes the conversation,
writes, files the ticket and releases it back to the bot."""

from typing import Any

import pytest

from hotline.intake import handoff
from hotline.intake.messages import InboundMessage
from hotline.services import Services
from hotline.storage.models import Role
from tests.web.conftest import add_user, login
from tests.web.test_ticket_actions import make_staff

Client = Any
Headers = dict[str, str]
LIVE = "/api/v1/staff/live"


@pytest.fixture
async def staff(client: Client, services: Services) -> dict[str, Headers]:
    return await make_staff(client, services)


async def say(client: Client, app_headers: Headers, text: str, n: int, sender: str = "u1") -> Any:
    body = {"sender": sender, "text": text, "message_id": f"{sender}-{n}"}
    response = await client.post("/api/v1/messages", json=body, headers=app_headers)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def post(client: Client, url: str, headers: Headers, status: int, **body: Any) -> Any:
    response = await client.post(url, json=body, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def get(client: Client, url: str, headers: Headers, status: int = 200) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


def texts(result: dict[str, Any]) -> list[str]:
    return [r["text"] for r in result["replies"]]


async def waiting_conversation(client: Client, app_headers: Headers) -> str:
    await say(client, app_headers, "我要投诉，小区门口的烧烤摊油烟太大了", 1)
    asked = await say(client, app_headers, "转人工", 2)
    assert texts(asked) == [handoff.HANDOFF]
    assert asked["replies"][0]["action"] == "handoff"
    return str(asked["conversation_id"])


async def test_a_citizen_is_handed_to_an_agent_and_back(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    conversation = await waiting_conversation(client, app_headers)
    quiet = await say(client, app_headers, "在吗？", 3)
    assert texts(quiet) == []  # the bot leaves the citizen to the agent
    desk = await get(client, LIVE, staff["agent"])
    assert desk["waiting"] == 1
    [item] = desk["items"]
    assert (item["conversation_id"], item["state"], item["agent"]) == (
        conversation, "waiting_agent", None,
    )  # fmt: skip
    shown = await get(client, f"{LIVE}/{conversation}", staff["agent"])
    said = [m["text"] for m in shown["messages"] if m["direction"] == "in"]
    assert said == ["我要投诉，小区门口的烧烤摊油烟太大了", "转人工", "在吗？"]
    assert shown["suggestions"] == []  # no classifier in these tests
    taken = await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 200)
    assert (taken["state"], taken["agent"]) == ("with_agent", "agent")
    again = await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 200)
    assert again["state"] == "with_agent"  # repeated: no second greeting
    other = await post(client, f"{LIVE}/{conversation}/take", staff["boss"], 409)
    assert "already held by another agent" in other["error"]["message"]
    await post(
        client, f"/api/v1/staff/conversations/{conversation}/replies", staff["agent"], 201,
        text="请问是哪个小区？",
    )  # fmt: skip
    answer = await say(client, app_headers, "望江路18号的翠湖小区", 4)
    assert texts(answer) == []
    fire = await say(client, app_headers, "楼下着火了，浓烟很大", 5)
    assert any(r.get("action") == "transfer:119" for r in fire["replies"])  # still referred
    filed = await post(
        client, f"{LIVE}/{conversation}/ticket", staff["agent"], 201,
        description="翠湖小区门口烧烤摊油烟扰民", place="江北区望江路18号翠湖小区",
        phone="13800138000", request_type="投诉",
    )  # fmt: skip
    number = filed["ticket"]["number"]
    assert filed["ticket"]["conversation_id"] == conversation
    read = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    outbound = [m["text"] for m in (await read.json())["messages"] if m["direction"] == "out"]
    assert outbound[-1].startswith(f"已为您登记工单，编号 {number}")
    assert handoff.TAKEN.format(name="agent") in outbound
    assert "请问是哪个小区？" in outbound
    released = await post(client, f"{LIVE}/{conversation}/release", staff["agent"], 200)
    assert released["state"] == "idle"
    back = await say(client, app_headers, "你好", 6)
    assert texts(back) != []  # the bot answers again
    assert (await get(client, LIVE, staff["agent"]))["items"] == []


async def test_waiting_can_be_cancelled_and_only_the_desk_sees_it(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    conversation = await waiting_conversation(client, app_headers)
    await get(client, LIVE, staff["cg"], status=403)
    await get(client, f"{LIVE}/nope", staff["agent"], status=404)
    await post(client, f"{LIVE}/nope/take", staff["agent"], 404)
    early = await post(
        client, f"{LIVE}/{conversation}/ticket", staff["agent"], 409, description="x"
    )
    assert early["error"]["message"] == "take the conversation before filing its ticket"
    cancelled = await say(client, app_headers, "取消", 3)
    assert texts(cancelled) == [handoff.HANDOFF_CANCELLED]
    assert (await get(client, LIVE, staff["agent"]))["waiting"] == 0
    late = await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 409)
    assert "not waiting for an agent" in late["error"]["message"]


async def test_release_and_filing_check_who_holds_the_conversation(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    conversation = await waiting_conversation(client, app_headers)
    await post(client, f"{LIVE}/{conversation}/take", staff["agent"], 200)
    await add_user(services, "agent2", Role.AGENT)
    staff["agent2"] = await login(client, "agent2")
    await post(client, f"{LIVE}/{conversation}/release", staff["agent2"], 409)
    await post(
        client, f"{LIVE}/{conversation}/ticket", staff["agent2"], 409, description="油烟扰民"
    )
    bad = await post(
        client, f"{LIVE}/{conversation}/ticket", staff["agent"], 422,
        description="油烟扰民", subcategory_code="9999",
    )  # fmt: skip
    assert "not in the taxonomy" in bad["error"]["message"]
    await post(client, f"{LIVE}/{conversation}/ticket", staff["agent"], 422, description="")
    await post(client, f"{LIVE}/{conversation}/release", staff["boss"], 200)  # a supervisor may


@pytest.mark.parametrize("text", ["人工", "我要转人工", "人工客服", "找客服", "转接人工服务"])
async def test_ways_of_asking_for_a_person(client: Client, app_headers: Headers, text: str) -> None:
    assert texts(await say(client, app_headers, text, 1)) == [handoff.HANDOFF]


async def test_a_request_that_mentions_a_person_is_still_a_request(
    client: Client, app_headers: Headers
) -> None:
    result = await say(client, app_headers, "人工湖边的路灯坏了好几天了", 1)
    assert handoff.HANDOFF not in texts(result)


async def test_the_queue_serves_emergencies_then_callers_then_the_longest_written_wait(
    client: Client, staff: dict[str, Headers], app_headers: Headers, services: Services
) -> None:
    written = await waiting_conversation(client, app_headers)
    call = InboundMessage(
        channel="phone", sender="+8613800138000", external_id="CA-queue:1", text="转人工"
    )
    caller = (await services.pipeline.submit(call)).conversation_id
    fire = await say(client, app_headers, "楼下着火了，浓烟很大", 1, sender="u3")
    assert any(r.get("action") == "transfer:119" for r in fire["replies"])
    urgent = (await say(client, app_headers, "转人工", 2, sender="u3"))["conversation_id"]
    desk = await get(client, LIVE, staff["agent"])
    assert [item["conversation_id"] for item in desk["items"]] == [urgent, caller, written]
    assert [item["emergency"] for item in desk["items"]] == ["119", None, None]
