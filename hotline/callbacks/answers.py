"""What a callback's answer does to the ticket, inside the caller's transaction.

满意 / 基本满意 close (归档) the resolved ticket. 不满意 reopens it (重办): it goes back to the
unit that resolved it with a new deadline, and the unit receives it like any dispatch; after
``max_reopens`` reopens it is escalated to the unit's superiors (督办) instead. An unanswered
question is asked again later, on the next route, until the attempts run out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callbacks import wording
from hotline.callbacks.ratings import CONTENT, label
from hotline.callbacks.settings import CallbackSettings
from hotline.intake import ticket_actions as actions
from hotline.routing import outbox
from hotline.storage.models import (
    CallbackStatus,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
    Unit,
)
from hotline.storage.repos import pushes
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)


class Deadline(Protocol):
    @property
    def due(self) -> datetime: ...
    @property
    def warning(self) -> datetime: ...


class DeadlineSource(Protocol):
    def restart_deadline(self, ticket: Ticket, start: datetime) -> Deadline | None:
        """The ticket's deadline counted again from ``start``; None when there is none."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What the citizen is told, and what happened to the ticket."""

    text: str
    reopened: bool = False
    closed: bool = False
    escalated: bool = False
    #: the reason is still wanted (ask for it)
    ask_reason: bool = False


@dataclass(frozen=True)
class Answering:
    """Applies answers under one configuration and deadline source."""

    settings: CallbackSettings
    deadlines: DeadlineSource | None = None

    async def rate(
        self,
        session: AsyncSession,
        callback: SatisfactionCallback,
        *,
        rating: Rating,
        reason: str | None,
        via: str,
        actor: str = "citizen",
    ) -> Outcome:
        """Store the rating (the callback must not be answered yet) and act on it."""
        now = utcnow()
        callback.status = CallbackStatus.ANSWERED
        callback.rating, callback.reason, callback.answered_via = rating, reason, via
        callback.answered_at = callback.updated_at = now
        callback.expires_at = callback.locked_by = callback.locked_until = None
        session.add(callback)
        await withdraw_question(session, callback)
        reporter = await _ticket(session, callback.ticket_id)
        handled = await _ticket(session, callback.handled_ticket_id, lock=True)
        await ticket_repo.record(
            session,
            ticket=reporter,
            actor=actor,
            action="callback_rated",
            to_value=rating,
            note=f"回访评价：{label(rating)}（{via}）" + (f"；原因：{reason}" if reason else ""),
        )
        if rating in CONTENT:
            closed = False
            if self.settings.close_when_content and handled.status == TicketStatus.RESOLVED:
                await actions.close(session, handled, actor="system:callback")
                closed = True
            text = wording.THANKS[rating].format(number=reporter.number)
            return Outcome(text, closed=closed)
        outcome = await self._unsatisfied(session, reporter, handled, reason, now)
        if outcome.ask_reason:
            callback.reason_until = now + self.settings.reason_window
        return outcome

    async def _unsatisfied(
        self,
        session: AsyncSession,
        reporter: Ticket,
        handled: Ticket,
        reason: str | None,
        now: datetime,
    ) -> Outcome:
        why = f"回访不满意（工单 {reporter.number}）" + (f"：{reason}" if reason else "")
        if handled.status not in actions.HANDLED:
            await ticket_repo.record(
                session, ticket=handled, actor="citizen", action="callback_disputed", note=why
            )
            text = wording.ALREADY_REOPENED.format(number=reporter.number)
            return Outcome(text, ask_reason=reason is None)
        too_many = await actions.reopen_count(session, handled) >= self.settings.max_reopens
        if not self.settings.reopen_when_unsatisfied or too_many or handled.unit_id is None:
            await escalate(session, handled, note=f"{why}，转督办")
            return Outcome(wording.ESCALATED, escalated=True, ask_reason=reason is None)
        due, warn = self._new_deadline(handled, now)
        await actions.reopen(session, handled, actor="citizen", why=why, due_at=due, warn_at=warn)
        unit = await session.get(Unit, handled.unit_id)
        text = wording.REOPENED.format(
            number=reporter.number,
            unit=unit.name if unit else "承办单位",
            due=f"{due.astimezone(ZoneInfo(self.settings.timezone)):%Y-%m-%d %H:%M}",
        )
        return Outcome(text, reopened=True, ask_reason=reason is None)

    def _new_deadline(self, ticket: Ticket, now: datetime) -> tuple[datetime, datetime | None]:
        deadline = self.deadlines.restart_deadline(ticket, now) if self.deadlines else None
        if deadline is None:
            return now + timedelta(days=self.settings.reopen_days), None
        return deadline.due.astimezone(UTC), deadline.warning.astimezone(UTC)

    async def add_reason(
        self, session: AsyncSession, callback: SatisfactionCallback, text: str
    ) -> str:
        """The citizen's reason for 不满意, on the handled ticket's history for its unit."""
        callback.reason = text[:1000]
        callback.reason_until = None
        callback.updated_at = utcnow()
        session.add(callback)
        reporter = await _ticket(session, callback.ticket_id)
        handled = await _ticket(session, callback.handled_ticket_id)
        await ticket_repo.record(
            session,
            ticket=handled,
            actor="citizen",
            action="callback_reason",
            note=f"回访不满意原因（工单 {reporter.number}）：{callback.reason}",
        )
        return wording.REASON_NOTED

    async def unanswered(
        self,
        session: AsyncSession,
        callback: SatisfactionCallback,
        *,
        why: str,
        now: datetime | None = None,
    ) -> None:
        """Ask again later on the next route, or give up after the last attempt."""
        now = now or utcnow()
        callback.expires_at = callback.locked_by = callback.locked_until = None
        callback.last_error, callback.updated_at = why[:500], now
        await withdraw_question(session, callback)
        if callback.attempts >= self.settings.max_attempts:
            callback.status = CallbackStatus.UNREACHED
            reporter = await _ticket(session, callback.ticket_id)
            await ticket_repo.record(
                session,
                ticket=reporter,
                actor="system",
                action="callback_unreached",
                note=f"回访{callback.attempts}次未获评价（{why}），请人工回访",
            )
        else:
            callback.status = CallbackStatus.SCHEDULED
            callback.next_attempt_at = self.settings.next_window(now + self.settings.retry_after)
        session.add(callback)


async def withdraw_question(session: AsyncSession, callback: SatisfactionCallback) -> None:
    """A question still waiting to reach the citizen (WeChat holds messages until the citizen
    writes again) would arrive after its callback moved on: it is not sent."""
    await pushes.withdraw(
        session,
        author=wording.QUESTION_AUTHOR,
        ticket_id=callback.ticket_id,
        why=wording.WITHDRAWN,
    )


async def escalate(session: AsyncSession, ticket: Ticket, *, note: str) -> None:
    """督办 of a disputed ticket: a history line and a dispatch to the unit and its parent."""
    unit, parent = await outbox.responsible(session, ticket)
    event = await ticket_repo.record(
        session,
        ticket=ticket,
        actor="citizen",
        action="callback_disputed",
        from_value=unit.code if unit else None,
        to_value=parent.code if parent else None,
        note=note,
    )
    await outbox.escalate(session, ticket=ticket, event=event, to=(unit, parent))
    log.warning("callbacks.disputed ticket=%s", ticket.number)


async def _ticket(session: AsyncSession, ticket_id: int, *, lock: bool = False) -> Ticket:
    # Locked, the row is read again even when this session holds it already (the citizen's
    # own ticket is the handled one): as it was before the lock, a concurrent reopen by a
    # merged reporter's 不满意 would be overwritten by this answer's 归档.
    ticket = await session.get(Ticket, ticket_id, with_for_update=lock, populate_existing=lock)
    if ticket is None:
        raise RuntimeError(f"ticket {ticket_id} of a callback does not exist")
    return ticket
