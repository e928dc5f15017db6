"""Units' and supervisors' ticket actions: state changes, roles, history and the citizen's reply."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.sample.loader import load_units
from hotline.services import Services
from hotline.storage.models import Role
from hotline.storage.repos import tickets, units
from hotline.web.app import create_app
from hotline.web.ticket_actions import DEADLINES
from tests.web.conftest import ClientFactory, add_user, login

Client = TestClient[Any, Any]
Headers = dict[str, str]
LETTER = {
    "title": "路灯不亮",
    "content": "望江路和解放路路口的路灯坏了一周了",
    "name": "李先生",
    "phone": "13912345678",
}
BASE = "/api/v1/staff/tickets"


@pytest.fixture
async def staff(client: Client, services: Services) -> dict[str, Headers]:
    return await make_staff(client, services)


async def make_staff(client: Client, services: Services) -> dict[str, Headers]:
    """Logged-in headers for an agent, a supervisor and two units (城管 and 环保)."""
    async with services.database.session() as session:
        await load_units(session)
        cg = (await units.by_code(session, code="LJ-CG")).id
        hb = (await units.by_code(session, code="LJ-HB")).id
    await add_user(services, "agent", Role.AGENT)
    await add_user(services, "boss", Role.SUPERVISOR)
    await add_user(services, "cg", Role.UNIT, unit_id=cg)
    await add_user(services, "hb", Role.UNIT, unit_id=hb)
    return {name: await login(client, name) for name in ("agent", "boss", "cg", "hb")}


async def letter(client: Client, app_headers: Headers) -> str:
    response = await client.post("/api/v1/letters", json=LETTER, headers=app_headers)
    assert response.status == 201, await response.text()
    return str((await response.json())["ticket"]["number"])


async def act(
    client: Client, headers: Headers, number: str, action: str, status: int, **body: Any
) -> Any:
    response = await client.post(f"{BASE}/{number}/{action}", json=body, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def dispatched(client: Client, staff: dict[str, Headers], app_headers: Headers) -> str:
    """A letter the agent routed to 城管."""
    number = await letter(client, app_headers)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    return number


async def history(client: Client, headers: Headers, number: str) -> list[dict[str, Any]]:
    response = await client.get(f"{BASE}/{number}", headers=headers)
    assert response.status == 200, await response.text()
    return list((await response.json())["history"])


async def chat_ticket(client: Client, app_headers: Headers) -> tuple[str, str]:
    """A ticket filed through the app channel: (number, conversation id)."""
    turns = ["我要投诉，小区门口的烧烤摊油烟太大了", "江北区望江路18号", "13800138000", "确认"]
    for i, text in enumerate(turns):
        body = {"sender": "user-1", "text": text, "message_id": f"m{i}"}
        response = await client.post("/api/v1/messages", json=body, headers=app_headers)
        assert response.status in (200, 201), await response.text()
    done = await response.json()
    return str(done["ticket"]["number"]), str(done["conversation_id"])


async def test_unit_accepts_resolves_and_the_citizen_gets_the_answer(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number, conversation = await chat_ticket(client, app_headers)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    body = await act(client, staff["cg"], number, "accept", 200)
    assert body["ticket"]["status"] == "accepted"
    note = await act(client, staff["cg"], number, "progress", 201, text="已安排执法队员现场查看")
    assert note["note"] == "已安排执法队员现场查看"
    body = await act(client, staff["cg"], number, "resolve", 200, reply="摊位已取缔")
    assert body["ticket"]["status"] == "resolved"
    assert body["ticket"].get("closed_at") is None
    prefix = f"【工单 {number} 办理结果】"
    assert body["message"]["text"] == prefix + "摊位已取缔"
    read = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    last = (await read.json())["messages"][-1]
    assert (last["direction"], last["text"]) == ("out", prefix + "摊位已取缔")
    closed = await act(client, staff["boss"], number, "close", 200)
    assert closed["ticket"]["status"] == "closed"
    lines = [
        (e["actor"], e["action"], e["from"], e["to"])
        for e in await history(client, staff["boss"], number)
    ]
    assert lines[-6:-1] == [
        ("agent:agent", "assigned", "triage", "dispatched"),
        ("unit:cg", "accepted", "dispatched", "accepted"),
        ("unit:cg", "progress", None, None),
        ("unit:cg", "resolved", "accepted", "resolved"),
        ("system", "callback_scheduled", None, lines[-2][3]),  # 回访 planned at 办结
    ]
    assert lines[-1] == ("supervisor:boss", "closed", "resolved", "closed")


async def test_resolving_a_ticket_without_conversation_only_records_it(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    async with services.database.session() as session:
        ticket = await tickets.by_number(session, number=number)
        ticket.conversation_id = None  # as for a ticket an agent typed in from a phone call
        session.add(ticket)
    await act(client, staff["cg"], number, "accept", 200)
    body = await act(client, staff["cg"], number, "resolve", 200, reply="路灯已修复")
    assert body["message"] is None
    assert body["event"]["note"] == "路灯已修复"


async def test_a_reply_that_cannot_be_stored_leaves_the_ticket_unresolved(
    client: Client,
    services: Services,
    staff: dict[str, Headers],
    app_headers: Headers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number, conversation = await chat_ticket(client, app_headers)
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    before = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    messages = len((await before.json())["messages"])

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.pipeline.outgoing, "write_to_citizen", broken)
    response = await client.post(
        f"{BASE}/{number}/resolve", json={"reply": "已处理"}, headers=staff["cg"]
    )
    assert response.status == 500
    monkeypatch.undo()
    detail = await client.get(f"{BASE}/{number}", headers=staff["cg"])
    assert (await detail.json())["ticket"]["status"] == "accepted"
    after = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    assert len((await after.json())["messages"]) == messages
    # Nothing half-written: the unit can resolve it again and the citizen hears it once.
    await act(client, staff["cg"], number, "resolve", 200, reply="已处理")


async def test_roles_and_unit_boundaries(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    forbidden = await act(client, staff["agent"], number, "accept", 403)
    assert forbidden["error"]["code"] == "forbidden"
    hidden = await act(client, staff["hb"], number, "accept", 404)
    assert hidden["error"]["code"] == "not_found"
    await act(client, staff["hb"], number, "return", 404, reason="不归我们管")
    await act(client, staff["cg"], number, "reroute", 403, unit_code="LJ-HB")
    await act(client, staff["cg"], number, "close", 403)
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    await act(client, staff["cg"], number, "extension", 200, until=until, reason="需协调多部门")
    await act(client, staff["cg"], number, "extension/approve", 403)
    await act(client, staff["boss"], "2099010100001", "close", 404)
    await act(client, staff["cg"], "2099010100001", "accept", 404)
    assert (await client.get("/api/v1/staff/reports/returns", headers=staff["cg"])).status == 403


async def test_wrong_state_is_a_conflict_naming_the_state(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    early = await act(client, staff["cg"], number, "resolve", 409, reply="已处理")
    assert early["error"]["code"] == "conflict"
    assert "is dispatched" in early["error"]["message"]
    await act(client, staff["cg"], number, "accept", 200)
    again = await act(client, staff["cg"], number, "accept", 409)
    assert "is accepted" in again["error"]["message"]
    await act(client, staff["boss"], number, "close", 409)
    await act(client, staff["agent"], number, "assign", 409, unit_code="LJ-HB")
    await act(client, staff["boss"], number, "extension/approve", 409)
    await act(client, staff["cg"], number, "resolve", 200, reply="已处理")
    await act(client, staff["boss"], number, "close", 200)
    late = await act(client, staff["boss"], number, "reroute", 409, unit_code="LJ-HB")
    assert "is closed" in late["error"]["message"]


async def test_missing_or_bad_fields_are_422(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    cg = staff["cg"]
    await act(client, cg, number, "return", 422)
    await act(client, cg, number, "return", 422, reason="   ")
    await act(client, cg, number, "extension", 422, until="2030-01-01T08:00:00", reason="x")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await act(client, cg, number, "extension", 422, until=past, reason="x")
    await act(client, cg, number, "progress", 422, text="")
    await act(client, staff["agent"], number, "assign", 422)
    await act(client, cg, number, "accept", 200)
    await act(client, cg, number, "resolve", 422)
    await act(client, cg, number, "resolve", 422, reply="ok", extra=1)
    await act(client, staff["boss"], number, "extension/refuse", 422)
    assert (await history(client, staff["boss"], number))[-1]["action"] == "accepted"


async def test_return_sends_the_ticket_back_to_triage_and_into_the_report(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    body = await act(client, staff["cg"], number, "return", 200, reason="属于环保部门职责")
    assert body["ticket"]["status"] == "returned"
    assert body["ticket"]["unit_id"] is None
    assert body["event"]["note"] == "临江市城市管理局（LJ-CG）退回：属于环保部门职责"
    queue = await client.get(f"{BASE}?status=returned", headers=staff["agent"])
    assert [t["number"] for t in (await queue.json())["tickets"]] == [number]
    default = await client.get(BASE, headers=staff["agent"])  # triage and returned together
    assert number in [t["number"] for t in (await default.json())["tickets"]]
    assert (await client.get(f"{BASE}/{number}", headers=staff["cg"])).status == 404
    other = await dispatched(client, staff, app_headers)
    await act(client, staff["cg"], other, "accept", 200)
    await act(client, staff["cg"], other, "return", 200, reason="不是城管职责")
    report = await client.get(
        "/api/v1/staff/reports/returns", params={"days": "30"}, headers=staff["boss"]
    )
    data = await report.json()
    assert data["total"] == 2
    assert data["by_unit"] == [{"unit": "LJ-CG", "returns": 2}]
    assert data["by_subcategory"] == [{"subcategory": "unclassified", "returns": 2}]
    rerouted = await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-HB")
    assert rerouted["ticket"]["status"] == "dispatched"
    await act(client, staff["hb"], number, "accept", 200)
    bad = await client.get("/api/v1/staff/reports/returns?days=0", headers=staff["boss"])
    assert bad.status == 422


async def test_extension_request_approve_and_refuse(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await dispatched(client, staff, app_headers)
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=20)
    await act(
        client, staff["cg"], number, "extension", 200, until=first.isoformat(), reason="等材料"
    )
    twice = await act(
        client, staff["cg"], number, "extension", 409, until=first.isoformat(), reason="再等"
    )
    assert "pending" in twice["error"]["message"]
    body = await act(client, staff["boss"], number, "extension/approve", 200, comment="同意")
    assert datetime.fromisoformat(body["ticket"]["due_at"]) == first
    await act(client, staff["boss"], number, "extension/refuse", 409, comment="没有申请")
    short = first - timedelta(days=1)
    await act(client, staff["cg"], number, "extension", 422, until=short.isoformat(), reason="x")
    later = first + timedelta(days=10)
    await act(client, staff["cg"], number, "extension", 200, until=later.isoformat(), reason="再等")
    refused = await act(
        client, staff["boss"], number, "extension/refuse", 200, comment="请按期办结"
    )
    assert datetime.fromisoformat(refused["ticket"]["due_at"]) == first
    actions = [e["action"] for e in await history(client, staff["boss"], number)]
    assert actions[-4:] == [
        "extension_requested",
        "extension_approved",
        "extension_requested",
        "extension_refused",
    ]


async def test_supervisor_reroutes_with_the_routers_deadline(
    services: Services,
    aiohttp_client: ClientFactory,
    app_headers: Headers,
) -> None:
    due = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    app = create_app(services)
    fake = SimpleNamespace(deadline=SimpleNamespace(due=due))
    app[DEADLINES] = SimpleNamespace(explain_ticket=lambda ticket: fake)
    client = await aiohttp_client(app)
    heads = await make_staff(client, services)
    number = await dispatched(client, heads, app_headers)
    await act(client, heads["cg"], number, "accept", 200)
    body = await act(client, heads["boss"], number, "reroute", 200, unit_code="LJ-HB")
    assert body["ticket"]["status"] == "dispatched"
    assert datetime.fromisoformat(body["ticket"]["due_at"]) == due
    assert body["event"]["note"] == "派至临江市生态环境局（LJ-HB）"
    assert (await client.get(f"{BASE}/{number}", headers=heads["cg"])).status == 404
    await act(client, heads["hb"], number, "accept", 200)
    await act(client, heads["boss"], number, "reroute", 404, unit_code="NOPE")
