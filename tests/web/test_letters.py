"""The letter box: a form that becomes a ticket at once."""

import io
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hotline.services import Services
from hotline.storage.models import Message, Role, Ticket
from hotline.storage.repos import tickets
from tests.web.conftest import add_user, login

Client = TestClient[Any, Any]
LETTER = {
    "title": "关于南湖路夜间施工噪音的反映",
    "content": "南湖路地铁站附近工地每天夜里十二点后还在施工，严重影响居民休息，请相关部门查处。",
    "name": "王女士",
    "phone": "13800138000",
    "area": "江南区",
}


async def rows(services: Services, model: Any) -> int:
    async with services.database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_json_letter_creates_a_ticket(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    response = await client.post("/api/v1/letters", json=LETTER, headers=app_headers)
    assert response.status == 201, await response.text()
    number = (await response.json())["ticket"]["number"]
    async with services.database.session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.number == number
    assert ticket.title == LETTER["title"]
    assert ticket.channel == "letter"
    assert ticket.contact_name == "王女士"
    assert ticket.request_type in ("投诉", "举报")  # "请相关部门查处" a nuisance: read by the NLU
    assert "南湖路" in (ticket.address or "")  # the place named in the text, for routing
    assert ticket.area == "江南区"


async def test_resubmitted_letter_id_returns_the_same_ticket(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    body = {**LETTER, "letter_id": "form-42"}
    first = await client.post("/api/v1/letters", json=body, headers=app_headers)
    second = await client.post("/api/v1/letters", json=body, headers=app_headers)
    assert (first.status, second.status) == (201, 200)
    assert (await first.json())["ticket"] == (await second.json())["ticket"]
    assert await rows(services, Ticket) == 1


def form(files: list[tuple[str, bytes, str]]) -> aiohttp.FormData:
    """The letter's fields plus files (streamed, as a browser would send them)."""
    data = aiohttp.FormData()
    for key, value in LETTER.items():
        data.add_field(key, value)
    for name, content, content_type in files:
        data.add_field("attachments", io.BytesIO(content), filename=name, content_type=content_type)
    return data


async def test_multipart_letter_keeps_its_attachment(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    photo = b"\x89PNG\r\n\x1a\n" + b"0" * 1000
    response = await client.post(
        "/api/v1/letters", data=form([("site.png", photo, "image/png")]), headers=app_headers
    )
    assert response.status == 201, await response.text()
    async with services.database.session() as session:
        message = (
            await session.execute(select(Message).where(Message.direction == "in"))
        ).scalar_one()
    (attachment,) = message.attachments
    assert attachment["filename"] == "site.png"
    assert attachment["size"] == len(photo)
    stored = (
        services.config.data_dir / "attachments" / attachment["sha256"][:2] / attachment["sha256"]
    )
    assert stored.read_bytes() == photo


async def test_oversized_or_wrong_type_attachments_are_refused_and_nothing_is_stored(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    too_big = b"0" * (services.config.channels.letters.max_attachment_bytes + 1)
    big = await client.post(
        "/api/v1/letters", data=form([("big.pdf", too_big, "application/pdf")]), headers=app_headers
    )
    assert big.status == 413
    assert (await big.json())["error"]["code"] == "payload_too_large"
    exe = await client.post(
        "/api/v1/letters",
        data=form([("x.exe", b"MZ", "application/x-msdownload")]),
        headers=app_headers,
    )
    assert exe.status == 415
    assert await rows(services, Ticket) == 0
    assert await rows(services, Message) == 0


async def test_letter_validation_and_auth(client: Client, app_headers: dict[str, str]) -> None:
    bad_phone = await client.post(
        "/api/v1/letters", json={**LETTER, "phone": "12345"}, headers=app_headers
    )
    assert bad_phone.status == 422
    assert "phone" in (await bad_phone.json())["error"]["message"]
    no_key = await client.post("/api/v1/letters", json=LETTER)
    assert no_key.status == 401
    text = await client.post(
        "/api/v1/letters", data="hello", headers={**app_headers, "Content-Type": "text/plain"}
    )
    assert text.status == 415


async def test_a_letter_describing_an_emergency_refers_and_is_flagged(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    fire = {**LETTER, "title": "着火了", "content": "我家楼下的仓库着火了，烟很大，火越来越大！"}
    response = await client.post("/api/v1/letters", json=fire, headers=app_headers)
    assert response.status == 201, await response.text()
    body = await response.json()
    (reply,) = body["replies"]
    # A letter cannot be transferred: the citizen is told to call 119 first, and gets a number.
    assert reply["text"].startswith("您反映的情况可能是火灾或需要紧急救援，请立即拨打119！")
    assert body["ticket"]["number"] in reply["text"]
    assert reply["action"] == "transfer:119"
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
        actions = [e.action for e in await tickets.history(session, ticket_id=ticket.id or 0)]
    assert (ticket.emergency, ticket.urgency) == ("119", "critical")
    assert "emergency_flagged" in actions
    await add_user(services, "boss", Role.SUPERVISOR)
    boss = await login(client, "boss")
    flagged = await client.get("/api/v1/staff/tickets?status=all&emergency=true", headers=boss)
    assert [t["number"] for t in (await flagged.json())["tickets"]] == [ticket.number]
    bad = await client.get("/api/v1/staff/tickets?emergency=maybe", headers=boss)
    assert bad.status == 422
    assert "emergency" in (await bad.json())["error"]["message"]


async def test_a_letter_about_fire_safety_is_no_emergency(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    hazard = {**LETTER, "content": "我们小区的消防通道被车堵了好几天，存在火灾隐患，请物业处理。"}
    response = await client.post("/api/v1/letters", json=hazard, headers=app_headers)
    assert response.status == 201, await response.text()
    (reply,) = (await response.json())["replies"]
    assert "拨打" not in reply["text"]
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.emergency is None
    await add_user(services, "boss", Role.SUPERVISOR)
    boss = await login(client, "boss")
    flagged = await client.get("/api/v1/staff/tickets?status=all&emergency=true", headers=boss)
    assert (await flagged.json())["total"] == 0


async def test_the_reply_address_of_a_letter_is_kept_and_masked_for_staff(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    body = {**LETTER, "email": "Wang.Mother@Example.com"}
    response = await client.post("/api/v1/letters", json=body, headers=app_headers)
    assert response.status == 201, await response.text()
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.contact_email == "wang.mother@example.com"
    await add_user(services, "agent", Role.AGENT)
    agent = await login(client, "agent")
    listed = await client.get("/api/v1/staff/tickets", headers=agent)
    detail = await client.get(f"/api/v1/staff/tickets/{ticket.number}", headers=agent)
    [row] = (await listed.json())["tickets"]
    shown = (await detail.json())["ticket"]
    assert row["contact_email"] == shown["contact_email"] == "w***@example.com"
    assert shown["contact_phone"] == "+8613800138000"  # the agent's way to call back, E.164
    for text in (await listed.text(), await detail.text()):
        assert "wang.mother" not in text.lower()


async def test_a_letter_without_a_usable_reply_address(
    client: Client, app_headers: dict[str, str], services: Services
) -> None:
    bad = await client.post(
        "/api/v1/letters", json={**LETTER, "email": "wang at example"}, headers=app_headers
    )
    assert bad.status == 422
    assert "email" in (await bad.json())["error"]["message"]
    assert await rows(services, Ticket) == 0
    assert await rows(services, Message) == 0
    # a browser form's empty field is no address
    fields = aiohttp.FormData({**LETTER, "email": " "}, default_to_multipart=True)
    empty = await client.post("/api/v1/letters", data=fields, headers=app_headers)
    assert empty.status == 201, await empty.text()
    async with services.database.read() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.contact_email is None
