"""Reading and settling the outbox from the API: units' queues, dead letters, overdue tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from hotline.errors import Conflict, NotFound
from hotline.intake import ticket_actions as actions
from hotline.storage.models import (
    DeliveryMethod,
    Dispatch,
    DispatchKind,
    DispatchStatus,
    Ticket,
    TicketStatus,
    Unit,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow


async def unit_queue(
    session: AsyncSession, *, unit_id: int, after: int, limit: int
) -> list[Dispatch]:
    """A pull unit's items not yet acknowledged, oldest first, after the ``after`` cursor."""
    statement = (
        select(Dispatch)
        .where(Dispatch.unit_id == unit_id)
        .where(Dispatch.method == DeliveryMethod.PULL)
        .where(Dispatch.status == DispatchStatus.PENDING)
        .where(col(Dispatch.id) > after)
        .order_by(col(Dispatch.id))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


@dataclass(frozen=True)
class Acknowledgement:
    dispatch: Dispatch
    #: the ticket was accepted (签收) by this acknowledgement
    accepted: bool
    #: why it was not, when it is a dispatch the unit could no longer accept
    note: str | None
    #: acknowledged before: nothing changed now
    repeated: bool


async def acknowledge(
    session: AsyncSession, *, dispatch_id: int, unit_id: int | None, actor: str
) -> Acknowledgement:
    """签收 of one queue item; repeating it changes nothing and says so.

    Acknowledging a ``ticket.dispatched`` item accepts the ticket when it is still waiting at
    this unit; if it has since been re-routed or returned, the item is only marked as read.
    """
    statement = select(Dispatch).where(Dispatch.id == dispatch_id).with_for_update()
    dispatch = (await session.execute(statement)).scalars().first()
    if dispatch is None or (unit_id is not None and dispatch.unit_id != unit_id):
        raise NotFound(f"queue item {dispatch_id} does not exist")
    if dispatch.method != DeliveryMethod.PULL:
        raise Conflict(
            f"queue item {dispatch_id} is delivered by {dispatch.method}, not through the queue"
        )
    if dispatch.status == DispatchStatus.ACKNOWLEDGED:
        return Acknowledgement(dispatch, accepted=False, note=None, repeated=True)
    dispatch.status = DispatchStatus.ACKNOWLEDGED
    dispatch.delivered_at = utcnow()
    dispatch.acknowledged_by = actor
    session.add(dispatch)
    accepted, note = False, None
    if dispatch.kind == DispatchKind.DISPATCHED:
        ticket = await session.get(Ticket, dispatch.ticket_id, with_for_update=True)
        if ticket is None:
            raise NotFound(f"ticket of queue item {dispatch_id} does not exist")
        if ticket.status == TicketStatus.DISPATCHED and ticket.unit_id == dispatch.unit_id:
            await actions.accept(session, ticket, actor=actor)
            accepted = True
        else:
            note = f"ticket {ticket.number} is {ticket.status} and no longer waiting at this unit"
    await session.flush()
    return Acknowledgement(dispatch, accepted=accepted, note=note, repeated=False)


async def list_dispatches(
    session: AsyncSession,
    *,
    status: DispatchStatus | None,
    unit_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Dispatch], int]:
    """Dispatches for supervisors, newest first (dead letters: ``status=dead``)."""
    statement = select(Dispatch)
    if status is not None:
        statement = statement.where(Dispatch.status == status)
    if unit_id is not None:
        statement = statement.where(Dispatch.unit_id == unit_id)
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    page = statement.order_by(col(Dispatch.id).desc()).limit(limit).offset(offset)
    return list((await session.execute(page)).scalars()), int(total)


async def retry(session: AsyncSession, *, dispatch_id: int, actor: str) -> Dispatch:
    """A supervisor sends a dead letter again (after the unit fixed its endpoint)."""
    dispatch = await session.get(Dispatch, dispatch_id, with_for_update=True)
    if dispatch is None:
        raise NotFound(f"dispatch {dispatch_id} does not exist")
    if dispatch.status != DispatchStatus.DEAD:
        raise Conflict(f"dispatch {dispatch_id} is {dispatch.status}; only dead ones are retried")
    # The counter starts over; the history line keeps what was tried before.
    last = dispatch.last_error or "（未记录）"
    tried = f"此前已投递{dispatch.attempts}次均失败，最后一次：{last}"
    dispatch.status = DispatchStatus.PENDING
    dispatch.attempts = 0
    dispatch.next_attempt_at = utcnow()
    dispatch.locked_by = dispatch.locked_until = None
    session.add(dispatch)
    ticket = await session.get(Ticket, dispatch.ticket_id)
    if ticket is not None:
        await ticket_repo.record(
            session,
            ticket=ticket,
            actor=actor,
            action="dispatch_retried",
            to_value=str(dispatch.id),
            note=tried,
        )
    await session.flush()
    return dispatch


async def overdue(
    session: AsyncSession, *, unit_id: int | None, limit: int, offset: int
) -> tuple[list[Ticket], int]:
    """Escalated (督办) tickets still at a unit, longest overdue first."""
    statement = (
        select(Ticket)
        .where(col(Ticket.status).in_(actions.AT_UNIT))
        .where(col(Ticket.escalated_at).is_not(None))
    )
    if unit_id is not None:
        statement = statement.where(Ticket.unit_id == unit_id)
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    page = statement.order_by(col(Ticket.due_at)).limit(limit).offset(offset)
    return list((await session.execute(page)).scalars()), int(total)


async def units_by_id(session: AsyncSession, ids: Sequence[int | None]) -> dict[int, Unit]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await session.execute(select(Unit).where(col(Unit.id).in_(wanted)))).scalars()
    return {u.id: u for u in rows if u.id is not None}
