"""Writing dispatches into the outbox, in the caller's transaction.

Whoever changes a ticket so that a unit must hear of it (the router's 派单, an agent's
assignment, a supervisor's 改派, the deadline sweep's 预警 and 督办) calls :func:`enqueue` in the
same transaction. If that transaction commits, the dispatch exists and a worker will deliver it;
if it rolls back, neither the change nor the dispatch happened. ``(event_id, unit_id)`` is unique,
so the same history line can never be announced twice to the same unit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.storage.models import (
    DeliveryMethod,
    Dispatch,
    DispatchKind,
    Ticket,
    TicketEvent,
    Unit,
)
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

PAYLOAD_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def ticket_payload(
    ticket: Ticket, unit: Unit, event: TicketEvent, kind: DispatchKind
) -> dict[str, Any]:
    """The document a unit receives: the ticket as it stands, and why it is being sent.

    The citizen's contact is included: the unit must be able to call back (回访 before 办结).
    It travels only over the unit's own channel (signed webhook, its mailbox, its API queue).
    """
    return {
        "version": PAYLOAD_VERSION,
        "event": kind.value,
        "reason": event.note,
        "unit": {"code": unit.code, "name": unit.name},
        "ticket": {
            "number": ticket.number,
            "status": ticket.status,
            "channel": ticket.channel,
            "request_type": ticket.request_type,
            "title": ticket.title,
            "description": ticket.description,
            "category": ticket.category_code,
            "subcategory": ticket.subcategory_code,
            "urgency": ticket.urgency,
            "address": ticket.address,
            "area": ticket.area,
            "latitude": ticket.latitude,
            "longitude": ticket.longitude,
            "contact_name": ticket.contact_name,
            "contact_phone": ticket.contact_phone,
            "report_count": ticket.report_count,
            "created_at": _iso(ticket.created_at),
            "due_at": _iso(ticket.due_at),
            "warn_at": _iso(ticket.warn_at),
        },
    }


def method_of(unit: Unit) -> DeliveryMethod:
    """The unit's configured method; an unknown value falls back to its API queue (pull)."""
    try:
        return DeliveryMethod(unit.delivery_method)
    except ValueError:
        log.error("dispatch.unknown_method unit=%s method=%s", unit.code, unit.delivery_method)
        return DeliveryMethod.PULL


async def responsible(session: AsyncSession, ticket: Ticket) -> tuple[Unit | None, Unit | None]:
    """The ticket's unit and that unit's parent: the two a 督办 goes to, where they exist."""
    unit = await session.get(Unit, ticket.unit_id) if ticket.unit_id is not None else None
    parent = await session.get(Unit, unit.parent_id) if unit and unit.parent_id else None
    return unit, parent


async def escalate(
    session: AsyncSession, *, ticket: Ticket, event: TicketEvent, to: tuple[Unit | None, ...]
) -> None:
    """督办: announce ``event`` to each of ``to`` (the unit and its parent) that exists."""
    for unit in to:
        if unit is not None:
            await enqueue(
                session, ticket=ticket, unit=unit, event=event, kind=DispatchKind.ESCALATED
            )


async def enqueue(
    session: AsyncSession,
    *,
    ticket: Ticket,
    unit: Unit,
    event: TicketEvent,
    kind: DispatchKind,
) -> Dispatch:
    """Add the dispatch announcing ``event`` to ``unit``; committed with the caller's change."""
    if ticket.id is None or unit.id is None or event.id is None:
        raise RuntimeError("enqueue needs a flushed ticket, unit and event")
    dispatch = Dispatch(
        ticket_id=ticket.id,
        unit_id=unit.id,
        event_id=event.id,
        kind=kind,
        method=method_of(unit),
        payload=ticket_payload(ticket, unit, event, kind),
        next_attempt_at=utcnow(),
    )
    session.add(dispatch)
    await session.flush()
    return dispatch
