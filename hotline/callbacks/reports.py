"""Closure and satisfaction rates (办结率, 满意率): the figures every unit is judged on.

Over a period, per unit or per category:

* **closure**, over the tickets created in the period (merged reports and cancelled requests
  left out): how many were resolved (办结率), how many of those on time (按期办结率), how many
  were reopened after a 不满意 (重办);
* **satisfaction**, over the callbacks planned in the period (resolutions in the period):
  how many answered, 满意 / 基本满意 / 不满意, unreached; 满意率 = (满意 + 基本满意) / answered,
  the way hotlines report it, and the contact rate = answered / (answered + unreached).

Both are one aggregate query each, so a month of a large city's tickets costs two scans.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Subquery, case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.errors import NotFound
from hotline.intake.ticket_actions import HANDLED
from hotline.storage.models import (
    CallbackStatus,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketEvent,
    TicketStatus,
    Unit,
)

GroupBy = Literal["unit", "category"]
NOT_COUNTED = (TicketStatus.MERGED, TicketStatus.CANCELLED)


@dataclass
class Row:
    key: str
    name: str
    tickets: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    reopened: int = 0
    callbacks: int = 0
    answered: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    unreached: int = 0
    pending: int = 0
    rates: dict[str, float | None] = field(default_factory=dict)

    def finish(self) -> Row:
        self.rates = {
            "closure": _rate(self.resolved, self.tickets),
            "on_time": _rate(self.resolved_on_time, self.resolved),
            "satisfaction": _rate(self.satisfied + self.basic, self.answered),
            "fully_satisfied": _rate(self.satisfied, self.answered),
            "contact": _rate(self.answered, self.answered + self.unreached),
        }
        return self

    def add(self, other: Row) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_COUNTS = (
    "tickets", "resolved", "resolved_on_time", "reopened", "callbacks", "answered",
    "satisfied", "basic", "unsatisfied", "unreached", "pending",
)  # fmt: skip


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    by: GroupBy
    rows: list[Row]
    total: Row


async def report(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    by: GroupBy,
    unit_id: int | None = None,
    category_name: Callable[[str], str] = str,
) -> Report:
    """Closure and satisfaction of ``[since, until)``; ``unit_id`` keeps one unit's figures."""
    rows: dict[str, Row] = {}
    units = await _units(session) if by == "unit" else {}
    if (await session.connection()).dialect.name == "postgresql":
        # The per-ticket history lookups make the closure plan look costly, so PostgreSQL
        # compiled it with LLVM first, which took about half as long again as the query at
        # 1,000,000 tickets (bench/callbacks_load.py). Only this transaction is affected.
        await session.execute(text("SET LOCAL jit = off"))

    def row(key: str | None) -> Row:
        if key is None:
            code, name = "-", "（未分派）" if by == "unit" else "（未分类）"
        elif by == "unit":
            code, name = units.get(key, (key, key))
        else:
            code, name = key, _category(key, category_name)
        return rows.setdefault(code, Row(code, name))

    for key, values in await _closure(session, since, until, by, unit_id):
        for name, value in zip(_CLOSURE, values, strict=True):
            setattr(row(key), name, int(value or 0))
    for key, values in await _satisfaction(session, since, until, by, unit_id):
        for name, value in zip(_SATISFACTION, values, strict=True):
            setattr(row(key), name, int(value or 0))
    total = Row("total", "合计")
    for item in rows.values():
        total.add(item)
        item.finish()
    ordered = sorted(rows.values(), key=lambda r: (-r.tickets, -r.callbacks, r.key))
    return Report(since, until, by, ordered, total.finish())


_CLOSURE = ("tickets", "resolved", "resolved_on_time", "reopened")
_SATISFACTION = (
    "callbacks",
    "answered",
    "satisfied",
    "basic",
    "unsatisfied",
    "unreached",
    "pending",
)


async def _closure(
    session: AsyncSession, since: datetime, until: datetime, by: GroupBy, unit_id: int | None
) -> list[tuple[str | None, tuple[Any, ...]]]:
    t = _per_ticket(since, until, by, unit_id).c
    done = t.status.in_(HANDLED)
    # a ticket without a due time (routed by hand, no deadline rule) cannot be late
    on_time = done & (t.due_at.is_(None) | (t.first_resolved <= t.due_at))
    statement = select(
        t.key, func.count(), _count(done), _count(on_time), func.sum(t.reopened)
    ).group_by(t.key)
    return [(_str(r[0]), tuple(r[1:])) for r in (await session.execute(statement)).all()]


def _per_ticket(since: datetime, until: datetime, by: GroupBy, unit_id: int | None) -> Subquery:
    """One row per counted ticket of the period: its key, status, due time, first 办结 and
    whether it was reopened (重办)."""
    # Only the period's tickets' lines (all history aggregated took seconds whatever the
    # period), joined rather than looked up twice per ticket (its first 办结, any 重办): the
    # look-ups took 5-16 s for a year of 1,000,000 tickets on PostgreSQL, where the join is one
    # merged pass over the ticket and history indexes (a month still probes per ticket), the
    # history side from ix_ticket_event_ticket_action_at alone (bench/callbacks_load.py).
    # SQLite, without statistics, reads the ticket table in id order for any period.
    action = col(TicketEvent.action)
    statement = (
        select(
            _key(by, col(Ticket.unit_id), col(Ticket.category_code)).label("key"),
            col(Ticket.status).label("status"),
            col(Ticket.due_at).label("due_at"),
            func.min(case((action == "resolved", col(TicketEvent.at)))).label("first_resolved"),
            func.max(case((action == "reopened", 1), else_=0)).label("reopened"),
        )
        .select_from(Ticket)
        .outerjoin(
            TicketEvent,
            (col(TicketEvent.ticket_id) == col(Ticket.id)) & action.in_(("resolved", "reopened")),
        )
        .where(col(Ticket.created_at) >= since, col(Ticket.created_at) < until)
        .where(col(Ticket.status).not_in(NOT_COUNTED))
        .group_by(col(Ticket.id))  # the ticket's own columns follow from its primary key
    )
    if unit_id is not None:
        statement = statement.where(col(Ticket.unit_id) == unit_id)
    return statement.subquery("per_ticket")


async def _satisfaction(
    session: AsyncSession, since: datetime, until: datetime, by: GroupBy, unit_id: int | None
) -> list[tuple[str | None, tuple[Any, ...]]]:
    cb = SatisfactionCallback
    key = _key(by, col(cb.unit_id), col(Ticket.category_code))
    status, rating = col(cb.status), col(cb.rating)
    statement = (
        select(
            key,
            func.count(),
            _count(status == CallbackStatus.ANSWERED),
            _count(rating == Rating.SATISFIED),
            _count(rating == Rating.BASIC),
            _count(rating == Rating.UNSATISFIED),
            _count(status == CallbackStatus.UNREACHED),
            _count(status.in_((CallbackStatus.SCHEDULED, CallbackStatus.AWAITING))),
        )
        .select_from(cb)
        .where(col(cb.created_at) >= since, col(cb.created_at) < until)
        .group_by(key)
    )
    if by == "category":  # by unit the callback's own unit_id is enough: no ticket to read
        statement = statement.join(Ticket, col(Ticket.id) == col(cb.handled_ticket_id))
    if unit_id is not None:
        statement = statement.where(col(cb.unit_id) == unit_id)
    return [(_str(r[0]), tuple(r[1:])) for r in (await session.execute(statement)).all()]


def _key(by: GroupBy, unit: Any, category: Any) -> Any:
    return unit if by == "unit" else category


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


async def _units(session: AsyncSession) -> dict[str, tuple[str, str]]:
    found = await session.execute(select(col(Unit.id), col(Unit.code), col(Unit.name)))
    return {str(unit_id): (code, name) for unit_id, code, name in found.all()}


def _category(code: str, name: Callable[[str], str]) -> str:
    try:
        return name(code)
    except NotFound:  # a code the taxonomy no longer has still gets its row
        return code


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
