"""What units and supervisors do to a ticket after routing: state changes and their history.

Every change appends a :class:`TicketEvent` (``from_value`` → ``to_value`` is the status, the
note says why). Two facts have no columns yet and live in the history instead:

* who returned a ticket: a ``returned_by`` event, ``from_value`` = the unit's code,
  ``to_value`` = the ticket's subcategory at that moment (the "misrouted rule" report counts them);
* extension requests: ``extension_requested`` (``to_value`` = the requested due time, ISO),
  settled by a later ``extension_approved`` or ``extension_refused``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import Conflict, ValidationFailed
from hotline.intake import duplicates
from hotline.intake.status import status_label
from hotline.routing import outbox
from hotline.storage.models import DispatchKind, Ticket, TicketEvent, TicketStatus, Unit
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units as unit_repo
from hotline.storage.types import utcnow

S = TicketStatus
AT_UNIT = (S.DISPATCHED, S.ACCEPTED)
#: no action moves these any more (a merged duplicate follows its original ticket)
ENDED = (S.CLOSED, S.CANCELLED, S.MERGED)
#: a unit has answered: what satisfaction callbacks ask about and a 不满意 reopens
HANDLED = (S.RESOLVED, S.CLOSED)
EXTENSION_ACTIONS = ("extension_requested", "extension_approved", "extension_refused")
RESULT_PREFIX = "【工单 {number} 办理结果】"
#: the ``notice`` of a resolution's message to a citizen: a channel that cannot deliver it in
#: time sends it another way (:mod:`hotline.channels.held`)
RESULT_NOTICE = "result"


def require_status(ticket: Ticket, action: str, *allowed: TicketStatus) -> None:
    """:class:`Conflict` naming the current state unless the ticket is in one of ``allowed``."""
    if ticket.status not in allowed:
        wanted = "、".join(f"{s.value}（{status_label(s)}）" for s in allowed)
        raise Conflict(
            f"ticket {ticket.number} is {ticket.status}（{status_label(ticket.status)}）; "
            f"{action} needs {wanted}"
        )


async def change_status(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: str,
    action: str,
    to: TicketStatus,
    note: str | None = None,
) -> TicketEvent:
    """Move the ticket to ``to`` and append the ``from → to`` history line."""
    previous = ticket.status
    ticket.status = to
    await ticket_repo.touch(session, ticket)
    return await ticket_repo.record(
        session,
        ticket=ticket,
        actor=actor,
        action=action,
        from_value=previous,
        to_value=to,
        note=note,
    )


async def accept(session: AsyncSession, ticket: Ticket, *, actor: str) -> TicketEvent:
    """签收: the unit takes the dispatched ticket."""
    require_status(ticket, "accept", S.DISPATCHED)
    return await change_status(session, ticket, actor=actor, action="accepted", to=S.ACCEPTED)


async def return_ticket(
    session: AsyncSession, ticket: Ticket, *, actor: str, reason: str
) -> TicketEvent:
    """退回: the unit hands the ticket back to agents' triage and is no longer on it."""
    require_status(ticket, "return", *AT_UNIT)
    unit = await _unit_of(session, ticket)
    ticket.unit_id = None
    event = await change_status(
        session,
        ticket,
        actor=actor,
        action="returned",
        to=S.RETURNED,
        note=f"{unit.name}（{unit.code}）退回：{reason}",
    )
    await ticket_repo.record(
        session,
        ticket=ticket,
        actor=actor,
        action="returned_by",
        from_value=unit.code,
        to_value=ticket.subcategory_code,
    )
    return event


async def assign(
    session: AsyncSession, ticket: Ticket, *, actor: str, unit_code: str, due_at: datetime | None
) -> TicketEvent:
    """An agent routes what the router left to triage (or a unit returned) → dispatched."""
    require_status(ticket, "assign", S.TRIAGE, S.RETURNED)
    return await _dispatch(
        session, ticket, actor=actor, action="assigned", unit_code=unit_code, due_at=due_at
    )


async def reroute(
    session: AsyncSession, ticket: Ticket, *, actor: str, unit_code: str, due_at: datetime | None
) -> TicketEvent:
    """改派: a supervisor sends a ticket in any open state to another unit → dispatched."""
    require_status(ticket, "reroute", *(s for s in S if s not in ENDED))
    return await _dispatch(
        session, ticket, actor=actor, action="rerouted", unit_code=unit_code, due_at=due_at
    )


async def _dispatch(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: str,
    action: str,
    unit_code: str,
    due_at: datetime | None,
    warn_at: datetime | None = None,
    why: str | None = None,
) -> TicketEvent:
    """Hand the ticket to ``unit_code`` and queue its dispatch; ``due_at`` None keeps the old
    due time."""
    unit = await unit_repo.by_code(session, code=unit_code)
    ticket.unit_id = unit.id
    if due_at is not None:
        move_due(ticket, due_at, warn_at)
    event = await change_status(
        session,
        ticket,
        actor=actor,
        action=action,
        to=S.DISPATCHED,
        note=f"{why}；派至{unit.name}（{unit.code}）" if why else f"派至{unit.name}（{unit.code}）",
    )
    await outbox.enqueue(
        session, ticket=ticket, unit=unit, event=event, kind=DispatchKind.DISPATCHED
    )
    return event


async def reopen(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: str,
    why: str,
    due_at: datetime,
    warn_at: datetime | None = None,
) -> TicketEvent:
    """重办: a resolved (or closed) ticket goes back to the unit that resolved it, with a new
    due time; the unit receives it like any dispatch and accepts it again."""
    require_status(ticket, "reopen", *HANDLED)
    unit = await _unit_of(session, ticket)
    ticket.closed_at = None
    return await _dispatch(
        session,
        ticket,
        actor=actor,
        action="reopened",
        unit_code=unit.code,
        due_at=due_at,
        warn_at=warn_at,
        why=why,
    )


async def reopen_count(session: AsyncSession, ticket: Ticket) -> int:
    """How many times the ticket was reopened (重办) so far."""
    statement = select(func.count()).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.action == "reopened"
    )
    return int((await session.execute(statement)).scalar_one())


def move_due(ticket: Ticket, due_at: datetime, warn_at: datetime | None = None) -> None:
    """A new due time: the warning and the escalation start over for it.

    Without a warning time from the router (an approved extension), warn a quarter of the
    remaining time before it, at most one day.
    """
    ticket.due_at = due_at
    if warn_at is None:
        remaining = max(due_at - utcnow(), timedelta(0))
        warn_at = due_at - min(remaining / 4, timedelta(days=1))
    ticket.warn_at = warn_at
    ticket.warned_at = None
    ticket.escalated_at = None


async def request_extension(
    session: AsyncSession, ticket: Ticket, *, actor: str, until: datetime, reason: str
) -> TicketEvent:
    """延期申请: recorded for a supervisor to approve or refuse; one pending at a time."""
    require_status(ticket, "extension", *AT_UNIT)
    if await pending_extension(session, ticket) is not None:
        raise Conflict(f"ticket {ticket.number} already has a pending extension request")
    floor = ticket.due_at or utcnow()
    if until <= floor:
        raise ValidationFailed(f"until: must be after {floor.isoformat()}")
    return await ticket_repo.record(
        session,
        ticket=ticket,
        actor=actor,
        action="extension_requested",
        from_value=_iso(ticket.due_at),
        to_value=until.isoformat(),
        note=reason,
    )


async def settle_extension(
    session: AsyncSession, ticket: Ticket, *, actor: str, approve: bool, comment: str | None
) -> TicketEvent:
    """Approve (the due time becomes the requested one) or refuse the pending request."""
    pending = await pending_extension(session, ticket)
    if pending is None or pending.to_value is None:
        raise Conflict(f"ticket {ticket.number} has no pending extension request")
    previous = _iso(ticket.due_at)
    if approve:
        move_due(ticket, datetime.fromisoformat(pending.to_value))
        await ticket_repo.touch(session, ticket)
    return await ticket_repo.record(
        session,
        ticket=ticket,
        actor=actor,
        action="extension_approved" if approve else "extension_refused",
        from_value=previous,
        to_value=pending.to_value,
        note=comment,
    )


async def pending_extension(session: AsyncSession, ticket: Ticket) -> TicketEvent | None:
    """The extension request not yet approved or refused, if any."""
    statement = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id)
        .where(col(TicketEvent.action).in_(EXTENSION_ACTIONS))
        .order_by(col(TicketEvent.id).desc())
        .limit(1)
    )
    last = (await session.execute(statement)).scalars().first()
    return last if last is not None and last.action == "extension_requested" else None


async def progress(session: AsyncSession, ticket: Ticket, *, actor: str, text: str) -> TicketEvent:
    """A unit's progress note (办理进度) on a ticket it holds."""
    require_status(ticket, "progress", *AT_UNIT)
    return await ticket_repo.record(
        session, ticket=ticket, actor=actor, action="progress", note=text
    )


@dataclass(frozen=True)
class CitizenNotice:
    """A message a citizen is owed about ``ticket``, for their conversation."""

    ticket: Ticket
    conversation_id: str
    text: str


async def resolve(
    session: AsyncSession, ticket: Ticket, *, actor: str, reply: str
) -> tuple[TicketEvent, list[CitizenNotice]]:
    """办结: record the answer; also returns what each citizen who reported it is to receive.

    That is the ticket's own citizen and every citizen whose report was merged into it, each
    under their own ticket number. ``closed_at`` stays empty: a supervisor closes the ticket
    after review.
    """
    require_status(ticket, "resolve", S.ACCEPTED)
    event = await change_status(
        session, ticket, actor=actor, action="resolved", to=S.RESOLVED, note=reply
    )
    notices = []
    if ticket.conversation_id:
        text = RESULT_PREFIX.format(number=ticket.number) + reply
        notices.append(CitizenNotice(ticket, ticket.conversation_id, text))
    for report in await duplicates.merged_reports(session, ticket):
        await ticket_repo.record(
            session,
            ticket=report,
            actor="system",
            action="result_relayed",
            to_value=ticket.number,
            note=reply,
        )
        if report.conversation_id:
            merged = f"（已并入工单 {ticket.number} 合并办理）"
            text = RESULT_PREFIX.format(number=report.number) + merged + reply
            notices.append(CitizenNotice(report, report.conversation_id, text))
    return event, notices


async def close(session: AsyncSession, ticket: Ticket, *, actor: str) -> TicketEvent:
    """归档: a supervisor closes a resolved ticket."""
    require_status(ticket, "close", S.RESOLVED)
    ticket.closed_at = utcnow()
    return await change_status(session, ticket, actor=actor, action="closed", to=S.CLOSED)


@dataclass(frozen=True)
class ReturnsReport:
    """How often tickets came back, per unit code and per subcategory code."""

    since: datetime
    total: int
    by_unit: Counter[str]
    by_subcategory: Counter[str]


async def returns_report(session: AsyncSession, *, days: int) -> ReturnsReport:
    """Count ``returned_by`` history lines of the last ``days`` days."""
    since = utcnow() - timedelta(days=days)
    statement = select(TicketEvent).where(
        TicketEvent.action == "returned_by", col(TicketEvent.at) >= since
    )
    events = list((await session.execute(statement)).scalars())
    return ReturnsReport(
        since=since,
        total=len(events),
        by_unit=Counter(e.from_value or "?" for e in events),
        by_subcategory=Counter(e.to_value or "unclassified" for e in events),
    )


async def _unit_of(session: AsyncSession, ticket: Ticket) -> Unit:
    if ticket.unit_id is None:
        raise Conflict(f"ticket {ticket.number} has no unit")
    return await unit_repo.get(session, unit_id=ticket.unit_id)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
