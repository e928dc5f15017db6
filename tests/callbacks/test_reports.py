"""Closure and satisfaction rates (办结率, 满意率) for supervisors and units, API and CLI."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event, text

from hotline.callbacks import reports
from hotline.callbacks.worker import CallbackWorker
from hotline.cli.main import cli
from hotline.services import Services
from hotline.storage.models import Citizen, Ticket, TicketEvent, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.callbacks.conftest import Client, Headers, resolved_chat_ticket, say
from tests.conftest import API_KEY
from tests.web.test_ticket_actions import act, dispatched

REPORT = "/api/v1/staff/reports/satisfaction"


async def a_month(
    client: Client, staff: dict[str, Headers], app_headers: Headers, asker: CallbackWorker
) -> None:
    """城管: one chat ticket resolved and rated 满意, one letter still open. 环保: one letter
    resolved whose citizen cannot be reached (no SMS or calls configured here)."""
    await resolved_chat_ticket(client, staff, app_headers)
    await asker.run_once()
    await say(client, app_headers, "满意", "rate-1")
    await dispatched(client, staff, app_headers)
    other = await dispatched(client, staff, app_headers)
    await act(client, staff["boss"], other, "reroute", 200, unit_code="LJ-HB")
    await act(client, staff["hb"], other, "accept", 200)
    await act(client, staff["hb"], other, "resolve", 200, reply="已处理")


def row(body: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for r in body["rows"] if r["key"] == key)


async def report(client: Client, headers: Headers, query: str = "", status: int = 200) -> Any:
    response = await client.get(REPORT + query, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def test_rates_per_unit(
    client: Client, staff: dict[str, Headers], app_headers: Headers, asker: CallbackWorker
) -> None:
    await a_month(client, staff, app_headers, asker)
    body = await report(client, staff["boss"], "?days=30&by=unit")
    cg, hb = row(body, "LJ-CG"), row(body, "LJ-HB")
    assert (cg["tickets"], cg["resolved"], cg["answered"], cg["satisfied"]) == (2, 1, 1, 1)
    assert cg["rates"]["closure"] == 0.5
    assert cg["rates"]["satisfaction"] == 1.0
    assert cg["rates"]["on_time"] == 1.0
    assert (hb["tickets"], hb["resolved"], hb["unreached"], hb["answered"]) == (1, 1, 1, 0)
    assert hb["rates"]["satisfaction"] is None  # nobody answered: no rate, not 0 %
    assert hb["rates"]["contact"] == 0.0
    total = body["total"]
    assert (total["tickets"], total["resolved"], total["callbacks"]) == (3, 2, 2)
    assert total["rates"]["closure"] == round(2 / 3, 4)


async def test_a_unit_sees_only_its_own_figures_and_agents_none(
    client: Client, staff: dict[str, Headers], app_headers: Headers, asker: CallbackWorker
) -> None:
    await a_month(client, staff, app_headers, asker)
    own = await report(client, staff["hb"])
    assert [r["key"] for r in own["rows"]] == ["LJ-HB"]
    await report(client, staff["agent"], status=403)
    await report(client, {}, status=401)
    bad = await report(client, staff["boss"], "?by=district", status=422)
    assert bad["error"]["message"] == "by: must be unit or category"
    await report(client, staff["boss"], "?days=0", status=422)
    by_category = await report(client, staff["boss"], "?by=category")
    assert [r["key"] for r in by_category["rows"]] == ["-"]  # no classifier here


async def test_callbacks_list_and_manual_results_check_roles_and_state(
    client: Client, staff: dict[str, Headers], app_headers: Headers, asker: CallbackWorker
) -> None:
    await a_month(client, staff, app_headers, asker)
    listed = await client.get("/api/v1/staff/callbacks?status=nonsense", headers=staff["agent"])
    assert listed.status == 422
    answered = await client.get("/api/v1/staff/callbacks?rating=satisfied", headers=staff["boss"])
    [item] = (await answered.json())["items"]
    number = item["ticket"]
    assert (item["channel"], item["address"]) == ("app", "****")  # a short app id: all masked
    own = await client.get("/api/v1/staff/callbacks", headers=staff["hb"])
    assert number not in {i["ticket"] for i in (await own.json())["items"]}  # 城管's, not 环保's
    url = f"/api/v1/staff/tickets/{number}/callback"
    by_unit = await client.post(url, json={"rating": "basic"}, headers=staff["cg"])
    assert by_unit.status == 403
    again = await client.post(url, json={"rating": "basic"}, headers=staff["agent"])
    assert again.status == 409  # answered already
    assert "only an open one can be answered" in (await again.json())["error"]["message"]
    bad = await client.post(url, json={"rating": "great"}, headers=staff["agent"])
    assert bad.status == 422
    open_letter = await dispatched(client, staff, app_headers)
    never = await client.post(
        f"/api/v1/staff/tickets/{open_letter}/callback", json={"rating": "basic"},
        headers=staff["agent"],
    )  # fmt: skip
    assert never.status == 409
    missing = await client.post(
        "/api/v1/staff/tickets/2000010199999/callback", json={"rating": "basic"},
        headers=staff["agent"],
    )  # fmt: skip
    assert missing.status == 404
    history = await client.get(f"/api/v1/staff/tickets/{number}/callbacks", headers=staff["cg"])
    assert [i["rating"] for i in (await history.json())["items"]] == ["satisfied"]


async def test_the_report_command(
    client: Client,
    services: Services,
    staff: dict[str, Headers],
    app_headers: Headers,
    asker: CallbackWorker,
    tmp_path: Path,
) -> None:
    await a_month(client, staff, app_headers, asker)
    env = {
        "HOTLINE_DATA_DIR": str(tmp_path / "data"),
        "HOTLINE_DATABASE_URL": services.config.database_url,
        "HOTLINE_APP_API_KEY": API_KEY,
    }

    def run(*args: str) -> Any:  # in a thread: the command runs its own event loop
        return asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)

    result = await run("callbacks", "report", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output.strip().splitlines()[-1])
    assert row(body, "LJ-CG")["rates"]["satisfaction"] == 1.0
    table = await run("callbacks", "report", "--unit", "LJ-HB")
    assert table.exit_code == 0, table.output
    assert "临江市生态环境局" in table.output
    assert "0.0%" in table.output  # contact rate of 环保: nobody reached
    listed = await run("callbacks", "list")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output.splitlines()[0])["status"] == "unreached"


async def test_requests_rising_this_week(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    first = await dispatched(client, staff, app_headers)  # a citizen to hang tickets on
    async with services.database.session() as session:
        citizen = (await ticket_repo.by_number(session, number=first)).citizen_id
        now, n = utcnow(), 0

        def add(category: str, days_ago: float) -> None:
            nonlocal n
            n += 1
            session.add(
                Ticket(
                    number=f"20260101{n:05d}", citizen_id=citizen, channel="letter",
                    title="t", description="d", category_code=category,
                    created_at=now - timedelta(days=days_ago),
                )
            )  # fmt: skip

        for week in range(1, 5):  # the four weeks before: 2 a week of 04, 3 a week of 10
            for i in range(2):
                add("04", 7 * week + 1 + i)
            for i in range(3):
                add("10", 7 * week + 1 + i)
        for i in range(12):  # this week: 04 jumps to 12, 10 stays at 3
            add("04", i * 0.5)
        for i in range(3):
            add("10", i + 1)
    body = await report_at(client, staff["boss"], "/api/v1/staff/reports/trends?days=7&weeks=4")
    assert body["rising"] == ["04"]
    top, steady = body["rows"][0], next(r for r in body["rows"] if r["key"] == "10")
    assert (top["key"], top["current"], top["baseline"], top["change"]) == ("04", 12, 2.0, 5.0)
    assert top["name"] == "城市管理与市容环境"
    assert (steady["current"], steady["baseline"], steady["rising"]) == (3, 3.0, False)
    await report_at(client, staff["cg"], "/api/v1/staff/reports/trends", status=403)
    bad = await report_at(client, staff["boss"], "/api/v1/staff/reports/trends?by=x", status=422)
    assert bad["error"]["message"] == "by: must be category or subcategory or area"


async def report_at(client: Client, headers: Headers, url: str, status: int = 200) -> Any:
    response = await client.get(url, headers=headers)
    assert response.status == status, await response.text()
    return await response.json()


async def test_the_report_by_unit_counts_callbacks_without_reading_tickets(
    services: Services,
) -> None:
    """Callbacks carry their unit: joining them to their tickets made every month's report by
    unit scan the whole ticket table (bench/callbacks_load.py, 1,000,000 tickets)."""
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        until = utcnow()
        for by in ("unit", "category"):
            async with services.database.read() as session:
                await reports.report(session, since=until - timedelta(days=30), until=until, by=by)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    counting = [s for s in statements if "FROM satisfaction_callback" in s and "count(" in s]
    assert len(counting) == 2
    assert "JOIN ticket" not in counting[0]  # by unit
    assert "JOIN ticket" in counting[1]  # by category: the ticket has it


#: (category, status, created days ago, due days after creation or None, [(action, days after
#: creation)]): what the closure half counts for each, in the comment
HISTORIES: list[tuple[str, TicketStatus, float, float | None, list[tuple[str, float]]]] = [
    # resolved on time, reopened, resolved again late: one ticket, on time by its first 办结
    ("01", TicketStatus.RESOLVED, 10, 5, [("resolved", 1), ("reopened", 2), ("resolved", 7)]),
    ("01", TicketStatus.CLOSED, 10, 1, [("resolved", 3), ("closed", 4)]),  # late
    ("01", TicketStatus.RESOLVED, 10, None, [("resolved", 9)]),  # no due time: never late
    # resolved, reopened and not resolved again
    ("01", TicketStatus.DISPATCHED, 10, 5, [("resolved", 1), ("reopened", 2)]),
    ("01", TicketStatus.ACCEPTED, 10, 5, []),  # no 办结 yet
    ("01", TicketStatus.MERGED, 10, 5, [("resolved", 1)]),  # a merged report is not counted
    ("01", TicketStatus.RESOLVED, 40, 5, [("resolved", 1)]),  # before the period
    ("02", TicketStatus.CLOSED, 10, 5, [("resolved", 4), ("closed", 5), ("resolved", 6)]),
]


async def test_closure_counts_each_ticket_once_however_many_history_lines_it_has(
    services: Services,
) -> None:
    """The closure half joins the period's tickets to their 办结 and 重办 lines (one pass for
    a year of tickets, bench/callbacks_load.py): a ticket with several is still one ticket, on
    time by its first 办结, reopened once."""
    now = utcnow()
    async with services.database.session() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        for n, (category, status, age, due, lines) in enumerate(HISTORIES):
            created = now - timedelta(days=age)
            ticket = Ticket(
                number=f"20260101{n:05d}", citizen_id=citizen.id or 0, channel="letter",
                title="t", description="d", category_code=category, status=status,
                due_at=None if due is None else created + timedelta(days=due),
                created_at=created,
            )  # fmt: skip
            session.add(ticket)
            await session.flush()
            session.add_all(
                TicketEvent(ticket_id=ticket.id or 0, actor="system", action=action,
                            at=created + timedelta(days=after))
                for action, after in lines
            )  # fmt: skip
    async with services.database.read() as session:
        found = await reports.report(
            session, since=now - timedelta(days=30), until=now, by="category"
        )
    closure = {r.key: (r.tickets, r.resolved, r.resolved_on_time, r.reopened) for r in found.rows}
    assert closure == {"01": (5, 3, 2, 2), "02": (1, 1, 1, 0)}


async def test_the_report_runs_without_jit_on_postgresql(services: Services) -> None:
    """PostgreSQL compiled the closure query with LLVM, which cost more than it saved."""
    if services.database.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    async with services.database.read() as session:
        until = utcnow()
        await reports.report(session, since=until - timedelta(days=30), until=until, by="unit")
        assert (await session.execute(text("SHOW jit"))).scalar_one() == "off"
    async with services.database.read() as session:  # only in the report's transaction
        default = (await session.execute(text("SHOW jit"))).scalar_one()
    assert default == (await _server_default(services))


async def _server_default(services: Services) -> str:
    async with services.database.read() as session:
        statement = text("SELECT reset_val FROM pg_settings WHERE name = 'jit'")
        return str((await session.execute(statement)).scalar_one())
