"""The caller's history across channels for agents: their own tickets and conversations, the
tickets that give their phone number elsewhere, and who may see it."""

from typing import Any

import pytest

from hotline.intake.messages import InboundMessage
from hotline.services import Services
from hotline.storage.models import ContactKind
from hotline.storage.repos import citizens
from tests.web.test_ticket_actions import LETTER, letter, make_staff

Client = Any
Headers = dict[str, str]
PHONE = LETTER["phone"]  # 13912345678


@pytest.fixture
async def staff(client: Client, services: Services) -> dict[str, Headers]:
    return await make_staff(client, services)


async def chat_with_typed_phone(client: Client, app_headers: Headers) -> str:
    turns = ["我要投诉，小区门口的烧烤摊油烟太大了", "江北区望江路18号", PHONE, "确认"]
    for i, text in enumerate(turns):
        body = {"sender": "user-9", "text": text, "message_id": f"c{i}"}
        response = await client.post("/api/v1/messages", json=body, headers=app_headers)
        assert response.status in (200, 201), await response.text()
    return str((await response.json())["ticket"]["number"])


async def get(client: Client, url: str, headers: Headers, status: int = 200) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def test_an_agent_sees_the_callers_history_across_channels(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    # the number's holder texts the hotline: the channel vouches for the number
    sms = InboundMessage("sms", "+86" + PHONE, "sms-1", "你好", contact_phone="+86" + PHONE)
    await services.pipeline.submit(sms)
    by_letter = await letter(client, app_headers)
    by_chat = await chat_with_typed_phone(client, app_headers)
    found = await get(client, "/api/v1/staff/citizens?phone=139-1234-5678", staff["boss"])
    [holder] = found["citizen_ids"]
    assert {t["number"] for t in found["tickets"]} == {by_letter, by_chat}
    history = await get(client, f"/api/v1/staff/citizens/{holder}", staff["agent"])
    assert history["contacts"] == [  # E.164, proven by the SMS
        {"kind": "phone", "value": "+8613912345678", "verified": True}
    ]
    assert history["tickets"] == []
    assert {t["number"] for t in history["same_phone_tickets"]} == {by_letter, by_chat}
    assert [c["channel"] for c in history["conversations"]] == ["sms"]
    assert history["same_phone_tickets"][0]["contact_phone"] == "139****5678"  # a list: masked
    # the letter (no SMS code here) and the chat only typed the number: it proves nothing, so
    # neither writer is the holder
    for number in (by_letter, by_chat):
        ticket = (await get(client, f"/api/v1/staff/tickets/{number}", staff["agent"]))["ticket"]
        assert ticket["citizen_id"] != holder


async def test_the_history_is_for_the_desk_only(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number = await letter(client, app_headers)
    ticket = (await get(client, f"/api/v1/staff/tickets/{number}", staff["agent"]))["ticket"]
    await get(client, f"/api/v1/staff/citizens/{ticket['citizen_id']}", staff["cg"], 403)
    await get(client, f"/api/v1/staff/citizens/{ticket['citizen_id']}", {}, 401)
    await get(client, "/api/v1/staff/citizens/999999", staff["agent"], 404)
    await get(client, "/api/v1/staff/citizens/%C2%B2", staff["agent"], 404)
    bad = await get(client, "/api/v1/staff/citizens?phone=abc", staff["agent"], 422)
    assert bad["error"]["message"].startswith("phone:")


async def test_the_live_desk_shows_who_is_waiting(
    client: Client, staff: dict[str, Headers], app_headers: Headers
) -> None:
    await chat_with_typed_phone(client, app_headers)
    body = {"sender": "user-9", "text": "转人工", "message_id": "c9"}
    response = await client.post("/api/v1/messages", json=body, headers=app_headers)
    conversation = (await response.json())["conversation_id"]
    shown = await get(client, f"/api/v1/staff/live/{conversation}", staff["agent"])
    assert shown["citizen"]["total_tickets"] == 1
    assert shown["citizen"]["contacts"] == [{"kind": "app", "value": "user-9", "verified": True}]


async def test_the_desk_sees_which_contact_points_were_proven(
    client: Client, services: Services, staff: dict[str, Headers]
) -> None:
    """An app user whose app gave a phone number: the app id is proven, the number only
    given (an address to answer at, not who they are), and the view says which is which."""
    given = InboundMessage("app", "user-5", "a-1", "你好", contact_phone="+8613700137000")
    await services.pipeline.submit(given)
    async with services.database.read() as session:
        citizen = await citizens.find_by_contact(session, kind=ContactKind.APP, value="user-5")
    assert citizen is not None
    history = await get(client, f"/api/v1/staff/citizens/{citizen.id}", staff["agent"])
    assert history["contacts"] == [
        {"kind": "app", "value": "user-5", "verified": True},
        {"kind": "phone", "value": "+8613700137000", "verified": False},
    ]
    holders = await get(client, "/api/v1/staff/citizens?phone=13700137000", staff["agent"])
    assert holders["citizen_ids"] == []  # a number only given identifies nobody
