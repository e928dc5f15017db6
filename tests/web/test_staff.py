"""The staff API: roles, the triage queue, classification feedback, notes and replies."""

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hotline.services import Services
from hotline.storage.models import AuthToken, ClassificationFeedback, Role, Unit
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.web.conftest import add_user, login

Client = TestClient[Any, Any]
LETTER = {
    "title": "路灯不亮",
    "content": "望江路和解放路路口的路灯坏了一周了",
    "name": "李先生",
    "phone": "13912345678",
}


async def make_ticket(client: Client, headers: dict[str, str]) -> str:
    response = await client.post("/api/v1/letters", json=LETTER, headers=headers)
    assert response.status == 201
    return str((await response.json())["ticket"]["number"])


async def test_login_rules(client: Client, services: Services) -> None:
    await add_user(services, "agent1", Role.AGENT)
    wrong = await client.post(
        "/api/v1/staff/login", json={"username": "agent1", "password": "nope"}
    )
    assert wrong.status == 401
    unknown = await client.post(
        "/api/v1/staff/login", json={"username": "ghost", "password": "nope"}
    )
    assert unknown.status == 401
    assert (await wrong.json())["error"]["message"] == (await unknown.json())["error"]["message"]
    headers = await login(client, "agent1")
    me = await client.get("/api/v1/staff/me", headers=headers)
    assert (await me.json())["role"] == "agent"


async def test_no_token_is_401_and_wrong_role_is_403(client: Client, services: Services) -> None:
    assert (await client.get("/api/v1/staff/tickets")).status == 401
    bad = await client.get("/api/v1/staff/tickets", headers={"Authorization": "Bearer forged"})
    assert bad.status == 401
    await add_user(services, "editor1", Role.EDITOR)
    headers = await login(client, "editor1")
    response = await client.get("/api/v1/staff/tickets", headers=headers)
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "forbidden"


async def test_logout_and_expiry_end_the_session(client: Client, services: Services) -> None:
    await add_user(services, "agent2", Role.AGENT)
    headers = await login(client, "agent2")
    assert (await client.post("/api/v1/staff/logout", headers=headers)).status == 200
    assert (await client.get("/api/v1/staff/me", headers=headers)).status == 401
    headers = await login(client, "agent2")
    async with services.database.session() as session:
        for token in (await session.execute(select(AuthToken))).scalars():
            token.expires_at = utcnow() - timedelta(seconds=1)
            session.add(token)
    assert (await client.get("/api/v1/staff/me", headers=headers)).status == 401


async def test_agent_works_the_triage_queue(
    client: Client, services: Services, app_headers: dict[str, str]
) -> None:
    number = await make_ticket(client, app_headers)
    await add_user(services, "agent3", Role.AGENT)
    headers = await login(client, "agent3")
    queue = await (await client.get("/api/v1/staff/tickets", headers=headers)).json()
    assert queue["total"] == 1
    row = queue["tickets"][0]
    assert row["number"] == number
    assert row["contact_phone"] == "139****5678"
    assert list(row)[:2] == ["number", "suggestions"]

    put = await client.put(
        f"/api/v1/staff/tickets/{number}/classification",
        json={"category": "04", "subcategory": "0402"},
        headers=headers,
    )
    assert put.status == 200, await put.text()
    note = await client.post(
        f"/api/v1/staff/tickets/{number}/notes", json={"text": "已电话联系市民"}, headers=headers
    )
    assert note.status == 201
    detail = await (await client.get(f"/api/v1/staff/tickets/{number}", headers=headers)).json()
    assert detail["ticket"]["contact_phone"] == "+8613912345678"  # stored as E.164
    assert detail["ticket"]["classified_by"] == "agent:agent3"
    # a letter without SMS: its phone is unverified, which the history says
    actions = ["created", "phone_unverified", "classified", "note"]
    assert [e["action"] for e in detail["history"]] == actions
    async with services.database.session() as session:
        feedback = (await session.execute(select(ClassificationFeedback))).scalar_one()
    assert feedback.subcategory_code == "0402"
    assert "路灯" in feedback.text

    reply = await client.post(
        f"/api/v1/staff/conversations/{detail['ticket']['conversation_id']}/replies",
        json={"text": "您好，已转交城管部门"},
        headers=headers,
    )
    assert reply.status == 201
    missing = await client.get("/api/v1/staff/tickets/2000010100001", headers=headers)
    assert missing.status == 404


async def test_a_unit_sees_only_its_own_tickets(
    client: Client, services: Services, app_headers: dict[str, str]
) -> None:
    number = await make_ticket(client, app_headers)
    async with services.database.session() as session:
        unit = Unit(code="U1", name="某街道", level="街道")
        session.add(unit)
        await session.flush()
        unit_id = unit.id
    await add_user(services, "unit1", Role.UNIT, unit_id=unit_id)
    headers = await login(client, "unit1")
    queue = await (await client.get("/api/v1/staff/tickets", headers=headers)).json()
    assert queue["total"] == 0
    hidden = await client.get(f"/api/v1/staff/tickets/{number}", headers=headers)
    assert hidden.status == 404
    async with services.database.session() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        ticket.unit_id = unit_id
        session.add(ticket)
    mine = await (await client.get("/api/v1/staff/tickets", headers=headers)).json()
    assert [t["number"] for t in mine["tickets"]] == [number]
    assert (await client.get(f"/api/v1/staff/tickets/{number}", headers=headers)).status == 200


async def test_bad_staff_inputs(client: Client, services: Services) -> None:
    await add_user(services, "agent4", Role.AGENT)
    headers = await login(client, "agent4")
    bad_status = await client.get("/api/v1/staff/tickets?status=weird", headers=headers)
    assert bad_status.status == 422
    bad_limit = await client.get("/api/v1/staff/tickets?limit=x", headers=headers)
    assert bad_limit.status == 422
    not_admin = await client.post(
        "/api/v1/staff/users",
        json={"username": "x1", "display_name": "x", "password": "longenough", "role": "agent"},
        headers=headers,
    )
    assert not_admin.status == 403


async def test_classification_must_be_in_the_taxonomy(
    client: Client, services: Services, app_headers: dict[str, str]
) -> None:
    number = await make_ticket(client, app_headers)
    await add_user(services, "agent5", Role.AGENT)
    headers = await login(client, "agent5")
    url = f"/api/v1/staff/tickets/{number}/classification"
    unknown = await client.put(url, json={"category": "04", "subcategory": "9999"}, headers=headers)
    assert unknown.status == 422
    assert "not in the taxonomy" in (await unknown.json())["error"]["message"]
    mismatch = await client.put(
        url, json={"category": "05", "subcategory": "0402"}, headers=headers
    )
    assert mismatch.status == 422
    async with services.database.session() as session:
        assert (await session.execute(select(ClassificationFeedback))).first() is None
