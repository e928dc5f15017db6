"""预警 and 督办: the deadline sweep warns once, escalates once per due time, to unit and parent."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hotline.intake import ticket_actions as actions
from hotline.routing.sweep import DeadlineSweeper
from hotline.sample.loader import load_units
from hotline.storage.db import Database
from hotline.storage.models import DispatchKind, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.routing.dispatch_helpers import dispatches, events, new_ticket

HOUR = timedelta(hours=1)


@pytest.fixture
async def units(database: Database) -> Database:
    async with database.session() as session:
        await load_units(session)
    return database


async def test_a_ticket_near_its_due_time_is_warned_once(units: Database) -> None:
    now = utcnow()
    async with units.session() as session:
        await new_ticket(session, "2026112200001", unit_code="LJ-CG", due_at=now + 5 * HOUR,
                         warn_at=now - HOUR)  # fmt: skip
        await new_ticket(session, "2026112200002", unit_code="LJ-CG", due_at=now + 50 * HOUR,
                         warn_at=now + 40 * HOUR)  # fmt: skip
    sweeper = DeadlineSweeper(units)
    first = await sweeper.sweep()
    assert first.warned == ["2026112200001"]
    assert first.escalated == []
    assert (await sweeper.sweep()).warned == []
    [line] = [e for e in await events(units, "2026112200001") if e.action == "deadline_warning"]
    assert "临期预警" in (line.note or "")
    warnings = [d for d in await dispatches(units) if d.kind == DispatchKind.WARNING]
    assert [d.payload["ticket"]["number"] for d in warnings] == ["2026112200001"]


async def test_an_overdue_ticket_is_escalated_to_its_unit_and_parent(units: Database) -> None:
    now = utcnow()
    async with units.session() as session:
        await new_ticket(session, "2026112200001", unit_code="JB-CG", due_at=now - 3 * HOUR,
                         warn_at=now - 10 * HOUR)  # fmt: skip
    sweeper = DeadlineSweeper(units)
    report = await sweeper.sweep()
    assert report.escalated == ["2026112200001"]
    assert report.warned == []  # past due: escalated, not warned as well
    assert (await sweeper.sweep()).escalated == []
    [line] = [e for e in await events(units, "2026112200001") if e.action == "escalated"]
    assert (line.from_value, line.to_value) == ("JB-CG", "JB")
    assert "超期督办" in (line.note or "")
    assert "已超期3小时" in (line.note or "")
    escalations = [d for d in await dispatches(units) if d.kind == DispatchKind.ESCALATED]
    assert sorted(d.payload["unit"]["code"] for d in escalations) == ["JB", "JB-CG"]


async def test_resolved_and_triage_tickets_are_left_alone(units: Database) -> None:
    past = utcnow() - HOUR
    async with units.session() as session:
        ticket = await new_ticket(session, "2026112200001", unit_code="LJ-CG", due_at=past,
                                  warn_at=past)  # fmt: skip
        await actions.accept(session, ticket, actor="unit:cg")
        await actions.resolve(session, ticket, actor="unit:cg", reply="已修复")
        triage = await new_ticket(session, "2026112200002")
        triage.due_at = triage.warn_at = past
        await ticket_repo.touch(session, triage)
    report = await DeadlineSweeper(units).sweep()
    assert report.warned == []
    assert report.escalated == []


async def test_an_approved_extension_starts_warning_and_escalation_over(units: Database) -> None:
    now = utcnow()
    async with units.session() as session:
        ticket = await new_ticket(session, "2026112200001", unit_code="LJ-CG", due_at=now - HOUR,
                                  warn_at=now - 5 * HOUR)  # fmt: skip
    sweeper = DeadlineSweeper(units)
    assert (await sweeper.sweep()).escalated == ["2026112200001"]
    async with units.session() as session:
        ticket = await ticket_repo.by_number(session, number="2026112200001")
        assert ticket.status == TicketStatus.DISPATCHED
        await actions.request_extension(
            session, ticket, actor="unit:cg", until=now + 2 * HOUR, reason="等待配件"
        )
        await actions.settle_extension(session, ticket, actor="supervisor:s", approve=True,
                                       comment=None)  # fmt: skip
        assert ticket.escalated_at is None
        assert ticket.warn_at is not None
        assert now < ticket.warn_at < now + 2 * HOUR
    assert (await sweeper.sweep()).escalated == []
    later = now + 3 * HOUR
    assert (await sweeper.sweep(now=later)).escalated == ["2026112200001"]


async def test_two_sweepers_escalate_each_ticket_once(database_url: str, units: Database) -> None:
    now = utcnow()
    async with units.session() as session:
        for i in range(30):
            await new_ticket(session, f"20261122{i:05d}", unit_code="LJ-CG", due_at=now - HOUR,
                             warn_at=now - 2 * HOUR)  # fmt: skip
    other = Database(database_url)
    try:
        reports = list(
            await asyncio.gather(
                DeadlineSweeper(units, batch=5).sweep(), DeadlineSweeper(other, batch=5).sweep()
            )
        )
        while (more := await DeadlineSweeper(other, batch=5).sweep()).escalated:
            reports.append(more)
    finally:
        await other.dispose()
    escalated = [n for r in reports for n in r.escalated]
    assert len(escalated) == 30
    assert len(set(escalated)) == 30
