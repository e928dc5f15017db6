"""The app channel end to end over HTTP: conversation to ticket, idempotency, bad input."""

import io
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hotline.services import Services
from hotline.storage.models import Message, Ticket

Client = TestClient[Any, Any]


async def send(client: Client, headers: dict[str, str], text: str, mid: str, **extra: Any) -> Any:
    body = {"sender": "user-1", "text": text, "message_id": mid, **extra}
    response = await client.post("/api/v1/messages", json=body, headers=headers)
    assert response.status in (200, 201), await response.text()
    return await response.json()


async def count(services: Services, model: Any) -> int:
    async with services.database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_conversation_ends_with_a_ticket_number(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    first = await send(client, app_headers, "我要投诉，小区门口的烧烤摊油烟太大了", "m1")
    assert first["ticket"] is None
    assert "地点" in first["replies"][0]["text"]
    await send(client, app_headers, "江北区望江路18号", "m2")
    third = await send(client, app_headers, "13800138000", "m3")
    assert "确认" in third["replies"][0]["text"]
    done = await send(client, app_headers, "确认", "m4")
    number = done["ticket"]["number"]
    assert len(number) == 13
    assert number in done["replies"][0]["text"]
    assert done["conversation_id"] == first["conversation_id"]
    async with services.database.session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.status == "triage"
    assert ticket.contact_phone == "+8613800138000"  # typed, stored as E.164
    assert "望江路" in (ticket.address or "")
    assert ticket.category_code is None  # nothing classified it: agents triage
    assert ticket.request_type == "投诉"

    status = await send(client, app_headers, "我刚才反映的问题处理得怎么样了", "m5")
    assert number in status["replies"][0]["text"]
    assert "已受理" in status["replies"][0]["text"]
    other = await client.post(
        "/api/v1/messages",
        json={"sender": "someone-else", "text": f"查询工单{number}进度", "message_id": "x1"},
        headers=app_headers,
    )
    other_reply = (await other.json())["replies"][0]["text"]
    assert "没有查询到" in other_reply  # another citizen cannot read this ticket


async def test_repeated_message_id_returns_the_first_answer_and_stores_nothing_twice(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    first = await send(client, app_headers, "你好", "same-id")
    stored = await count(services, Message)
    response = await client.post(
        "/api/v1/messages",
        json={"sender": "user-1", "text": "你好", "message_id": "same-id"},
        headers=app_headers,
    )
    assert response.status == 200
    again = await response.json()
    assert again["replies"] == first["replies"]
    assert again["message_id"] == first["message_id"]
    assert again["repeated"] is True
    assert await count(services, Message) == stored


async def test_conversation_can_be_read_back(client: Client, app_headers: dict[str, str]) -> None:
    first = await send(client, app_headers, "你好", "r1")
    response = await client.get(
        f"/api/v1/conversations/{first['conversation_id']}", headers=app_headers
    )
    assert response.status == 200
    body = await response.json()
    assert [m["direction"] for m in body["messages"]] == ["in", "out"]


async def test_ticket_status_needs_the_right_phone(
    client: Client, app_headers: dict[str, str]
) -> None:
    await send(client, app_headers, "想咨询一下公积金提取需要什么材料", "s1", phone="13800138000")
    done = await send(client, app_headers, "确认", "s2")
    number = done["ticket"]["number"]
    ok = await client.get(
        f"/api/v1/tickets/{number}/status", params={"phone": "138-0013-8000"}, headers=app_headers
    )
    assert ok.status == 200
    body = await ok.json()
    assert body["status"] == "triage"
    assert body["contact_phone"] == "138****8000"
    wrong = await client.get(
        f"/api/v1/tickets/{number}/status", params={"phone": "13900000000"}, headers=app_headers
    )
    assert wrong.status == 404
    assert (await wrong.json())["error"]["code"] == "not_found"


async def test_bad_inputs_get_precise_errors_and_store_nothing(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    cases = [
        (
            {"data": b"{not json", "headers": {**app_headers, "Content-Type": "application/json"}},
            400,
            "malformed_json",
        ),
        (
            {
                "data": b"[" * 100_000,
                "headers": {**app_headers, "Content-Type": "application/json"},
            },
            400,
            "malformed_json",
        ),
        ({"json": {"sender": "u", "text": "x"}, "headers": app_headers}, 422, "validation_error"),
        (
            {"json": {"sender": "u", "text": "", "message_id": "1"}, "headers": app_headers},
            422,
            "validation_error",
        ),
        (
            {
                "json": {"sender": "u", "text": "x", "message_id": "1", "extra": 1},
                "headers": app_headers,
            },
            422,
            "validation_error",
        ),
        ({"json": {"sender": "u", "text": "x", "message_id": "1"}}, 401, "unauthorized"),
        (
            {
                "json": {"sender": "u", "text": "x", "message_id": "1"},
                "headers": {"X-Api-Key": "wrong"},
            },
            401,
            "unauthorized",
        ),
        (
            {
                "data": io.BytesIO(b"x" * 2_000_000),
                "headers": {**app_headers, "Content-Type": "application/json"},
            },
            413,
            "payload_too_large",
        ),
    ]
    for kwargs, status, code in cases:
        response = await client.post("/api/v1/messages", **kwargs)
        assert response.status == status, (kwargs.get("json"), await response.text())
        assert (await response.json())["error"]["code"] == code
    assert await count(services, Message) == 0


async def test_unknown_conversation_is_404(client: Client, app_headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/conversations/doesnotexist", headers=app_headers)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_unknown_route_is_json_404(client: Client) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"


async def test_emergency_is_referred_and_no_ticket_is_started(
    client: Client, app_headers: dict[str, str]
) -> None:
    reply = await send(client, app_headers, "救命啊 楼下着火了 好大的烟", "e1")
    assert reply["replies"][0]["action"] == "transfer:119"
    assert reply["ticket"] is None


async def test_websocket_chat_pushes_an_agents_later_reply(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    async with client.ws_connect(
        "/api/v1/ws", params={"sender": "ws-user"}, headers=app_headers
    ) as ws:
        await ws.send_json({"text": "你好", "message_id": "w1"})
        result = await ws.receive_json(timeout=5)
        assert result["type"] == "result"
        await services.pipeline.send_agent_reply(
            conversation_id=result["conversation_id"], text="您好，我是话务员小李", agent="li"
        )
        pushed = await ws.receive_json(timeout=5)
        assert pushed["type"] == "message"
        assert pushed["text"] == "您好，我是话务员小李"
        assert pushed["author"] == "agent"
        await ws.send_str("not json")
        error = await ws.receive_json(timeout=5)
        assert error["error"]["code"] == "malformed_json"


async def test_websocket_needs_the_api_key(client: Client) -> None:
    response = await client.get("/api/v1/ws", params={"sender": "x"})
    assert response.status == 401
