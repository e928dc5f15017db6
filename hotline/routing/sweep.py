"""Watching deadlines: warnings before the due time (预警) and escalation when overdue (督办).

The sweep marks tickets whose warning time passed and those overdue with a conditional update
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so with several workers each ticket is warned and
escalated once per due time; both write a history line and a dispatch in the same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.routing import outbox
from hotline.storage.db import Database
from hotline.storage.models import DispatchKind, Ticket, TicketStatus, Unit
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

AT_UNIT = (TicketStatus.DISPATCHED, TicketStatus.ACCEPTED)
CHINA_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class SweepReport:
    warned: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


class DeadlineSweeper:
    """预警 and 督办 of tickets held by units (dispatched or accepted)."""

    def __init__(self, database: Database, *, batch: int = 200) -> None:
        self.database = database
        self.batch = batch

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        now = now or utcnow()
        report = SweepReport()
        async with self.database.session() as session:
            for ticket in await self._due(session, now, overdue=True):
                await self._escalate(session, ticket, now)
                report.escalated.append(ticket.number)
            for ticket in await self._due(session, now, overdue=False):
                await self._warn(session, ticket, now)
                report.warned.append(ticket.number)
        if report.warned or report.escalated:
            log.info(
                "deadlines.swept warned=%d escalated=%d", len(report.warned), len(report.escalated)
            )
        return report

    async def _due(self, session: AsyncSession, now: datetime, *, overdue: bool) -> list[Ticket]:
        statement = select(Ticket).where(col(Ticket.status).in_(AT_UNIT))
        if overdue:
            statement = statement.where(col(Ticket.due_at) <= now).where(
                col(Ticket.escalated_at).is_(None)
            )
        else:
            statement = (
                statement.where(col(Ticket.warn_at) <= now)
                .where(col(Ticket.due_at) > now)
                .where(col(Ticket.warned_at).is_(None))
            )
        statement = (
            statement.order_by(col(Ticket.due_at))
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        return list((await session.execute(statement)).scalars())

    async def _warn(self, session: AsyncSession, ticket: Ticket, now: datetime) -> None:
        ticket.warned_at = now
        await ticket_repo.touch(session, ticket)
        unit = await _unit(session, ticket.unit_id)
        due = _local(ticket.due_at)
        event = await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="deadline_warning",
            to_value=unit.code if unit else None,
            note=f"临期预警：将于{due}到期，请抓紧办理",
        )
        if unit is not None:
            await outbox.enqueue(
                session, ticket=ticket, unit=unit, event=event, kind=DispatchKind.WARNING
            )

    async def _escalate(self, session: AsyncSession, ticket: Ticket, now: datetime) -> None:
        """督办: history line for supervisors, dispatch to the unit and to its parent unit."""
        ticket.escalated_at = now
        ticket.warned_at = ticket.warned_at or now
        await ticket_repo.touch(session, ticket)
        unit, parent = await outbox.responsible(session, ticket)
        overdue = now - ticket.due_at if ticket.due_at else timedelta(0)
        hours = int(overdue.total_seconds() // 3600)
        who = f"{unit.name}（{unit.code}）" if unit else "承办单位"
        to_parent = f"，抄送{parent.name}" if parent else ""
        event = await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="escalated",
            from_value=unit.code if unit else None,
            to_value=parent.code if parent else None,
            note=f"超期督办：{who}应于{_local(ticket.due_at)}前办结，已超期{hours}小时{to_parent}",
        )
        await outbox.escalate(session, ticket=ticket, event=event, to=(unit, parent))


async def _unit(session: AsyncSession, unit_id: int | None) -> Unit | None:
    return await session.get(Unit, unit_id) if unit_id is not None else None


def _local(value: datetime | None) -> str:
    return value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if value else "（未设定）"
