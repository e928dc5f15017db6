"""The outbox through the API: a unit's queue and 签收, dead letters, overdue tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from hotline.routing.sweep import DeadlineSweeper
from hotline.services import Services
from hotline.storage.models import Dispatch, DispatchStatus, Ticket
from hotline.storage.types import utcnow
from tests.web.test_ticket_actions import act, dispatched, history, make_staff

Client = TestClient[Any, Any]
Headers = dict[str, str]
QUEUE = "/api/v1/staff/queue"


async def get(client: Client, headers: Headers, path: str, status: int = 200) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def post(client: Client, headers: Headers, path: str, status: int = 200) -> Any:
    response = await client.post(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def test_a_unit_pulls_its_queue_and_acknowledging_accepts_the_ticket(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    number = await dispatched(client, staff, app_headers)
    queue = await get(client, staff["cg"], QUEUE)
    assert queue["unit"] == "LJ-CG"
    [item] = queue["items"]
    assert item["kind"] == "ticket.dispatched"
    assert item["payload"]["ticket"]["number"] == number
    assert item["payload"]["ticket"]["contact_phone"] == "+8613912345678"
    # Another unit sees nothing of it and cannot acknowledge it.
    assert (await get(client, staff["hb"], QUEUE))["items"] == []
    await post(client, staff["hb"], f"{QUEUE}/{item['id']}/ack", 404)

    ack = await post(client, staff["cg"], f"{QUEUE}/{item['id']}/ack")
    assert ack["ticket_accepted"] is True
    assert ack["already_acknowledged"] is False
    assert ack["item"]["status"] == "acknowledged"
    assert [h["action"] for h in await history(client, staff["cg"], number)][-1] == "accepted"
    again = await post(client, staff["cg"], f"{QUEUE}/{item['id']}/ack")
    assert again["already_acknowledged"] is True
    assert (await get(client, staff["cg"], QUEUE))["items"] == []


async def test_acknowledging_after_a_reroute_does_not_accept(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    number = await dispatched(client, staff, app_headers)
    [item] = (await get(client, staff["cg"], QUEUE))["items"]
    await act(client, staff["boss"], number, "reroute", 200, unit_code="LJ-HB")
    ack = await post(client, staff["cg"], f"{QUEUE}/{item['id']}/ack")
    assert ack["ticket_accepted"] is False
    assert "no longer waiting" in ack["note"]
    [moved] = (await get(client, staff["hb"], QUEUE))["items"]
    assert moved["payload"]["ticket"]["number"] == number


async def test_queue_roles_and_bad_ids(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    await dispatched(client, staff, app_headers)
    assert (await client.get(QUEUE)).status == 401
    await get(client, staff["agent"], QUEUE, 403)
    await get(client, staff["boss"], QUEUE, 422)  # a supervisor names the unit
    assert len((await get(client, staff["boss"], f"{QUEUE}?unit=LJ-CG"))["items"]) == 1
    await get(client, staff["boss"], f"{QUEUE}?unit=NOPE", 404)
    await get(client, staff["cg"], f"{QUEUE}?limit=0", 422)
    await post(client, staff["cg"], f"{QUEUE}/999999/ack", 404)
    await post(client, staff["cg"], f"{QUEUE}/abc/ack", 404)
    await post(client, staff["boss"], f"{QUEUE}/1/ack", 403)


async def test_queue_pages_with_a_cursor(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    for _ in range(3):
        await dispatched(client, staff, app_headers)
    first = await get(client, staff["cg"], f"{QUEUE}?limit=2")
    second = await get(client, staff["cg"], f"{QUEUE}?limit=2&after={first['next_after']}")
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert second["items"][0]["id"] > first["items"][1]["id"]


async def test_supervisors_see_dead_letters_and_retry_them(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    number = await dispatched(client, staff, app_headers)
    async with services.database.session() as session:
        await session.execute(
            update(Dispatch).values(status=DispatchStatus.DEAD, attempts=8, last_error="HTTP 500")
        )
    dead = await get(client, staff["boss"], "/api/v1/staff/dispatches?status=dead")
    assert dead["total"] == 1
    [item] = dead["items"]
    assert (item["ticket"], item["unit"], item["last_error"]) == (number, "LJ-CG", "HTTP 500")
    assert "payload" not in item  # the citizen's contact is not needed in this list
    await get(client, staff["cg"], "/api/v1/staff/dispatches", 403)
    await get(client, staff["boss"], "/api/v1/staff/dispatches?status=lost", 422)

    retried = await post(client, staff["boss"], f"/api/v1/staff/dispatches/{item['id']}/retry")
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    await post(client, staff["boss"], f"/api/v1/staff/dispatches/{item['id']}/retry", 409)
    await post(client, staff["boss"], "/api/v1/staff/dispatches/424242/retry", 404)
    assert [h["action"] for h in await history(client, staff["boss"], number)][-1] == (
        "dispatch_retried"
    )


async def test_overdue_report_lists_escalated_tickets_per_unit(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    number = await dispatched(client, staff, app_headers)
    async with services.database.session() as session:
        await session.execute(
            update(Ticket).values(due_at=utcnow() - timedelta(hours=2), warn_at=utcnow())
        )
    await DeadlineSweeper(services.database).sweep()
    report = await get(client, staff["boss"], "/api/v1/staff/reports/overdue")
    assert [t["number"] for t in report["items"]] == [number]
    assert report["items"][0]["unit"] == "LJ-CG"
    assert report["items"][0]["escalated_at"] is not None
    assert (await get(client, staff["cg"], "/api/v1/staff/reports/overdue"))["total"] == 1
    assert (await get(client, staff["hb"], "/api/v1/staff/reports/overdue"))["total"] == 0
    await get(client, staff["agent"], "/api/v1/staff/reports/overdue", 403)
    kinds = [i["kind"] for i in (await get(client, staff["cg"], QUEUE))["items"]]
    assert kinds == ["ticket.dispatched", "ticket.escalated"]


async def test_a_retry_keeps_the_failed_attempts_in_the_history(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    number = await dispatched(client, staff, app_headers)
    async with services.database.session() as session:
        await session.execute(
            update(Dispatch).values(status=DispatchStatus.DEAD, attempts=8, last_error="HTTP 500")
        )
    [item] = (await get(client, staff["boss"], "/api/v1/staff/dispatches?status=dead"))["items"]
    await post(client, staff["boss"], f"/api/v1/staff/dispatches/{item['id']}/retry")
    line = (await history(client, staff["boss"], number))[-1]
    assert line["action"] == "dispatch_retried"
    # The counter starts over; what the supervisor retried stays on record.
    assert "8次" in (line["note"] or "")
    assert "HTTP 500" in (line["note"] or "")


async def test_non_ascii_digits_in_an_id_are_not_found(
    client: Client, services: Services, app_headers: Headers
) -> None:
    staff = await make_staff(client, services)
    await dispatched(client, staff, app_headers)
    await post(client, staff["cg"], f"{QUEUE}/%C2%B2/ack", 404)  # "²" is a digit to isdigit()
    await post(client, staff["boss"], "/api/v1/staff/dispatches/%C2%B2/retry", 404)
