"""The dispatch outbox seen from the API.

* a unit pulls its queue (``GET /api/v1/staff/queue``) and acknowledges each item (签收,
  ``POST /api/v1/staff/queue/{id}/ack``); acknowledging a dispatch accepts the ticket;
* supervisors list dispatches, dead letters first of all (``?status=dead``), and send a dead
  letter again once the unit fixed its endpoint;
* supervisors (and each unit, for its own) list escalated overdue tickets (督办).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.errors import NotFound, ValidationFailed
from hotline.routing import queue
from hotline.storage.models import Dispatch, DispatchStatus, Role, StaffUser, Unit
from hotline.storage.repos import units as unit_repo
from hotline.web.bodies import query_int
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff import _actor, _own_unit
from hotline.web.staff_views import ticket_summary

STAFF = "/api/v1/staff"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def dispatch_view(dispatch: Dispatch, unit: Unit | None, *, payload: bool) -> dict[str, Any]:
    """A dispatch; the payload (with the citizen's contact) only for the unit that handles it."""
    view: dict[str, Any] = {
        "id": dispatch.id,
        "kind": dispatch.kind,
        "method": dispatch.method,
        "status": dispatch.status,
        "unit": unit.code if unit else None,
        "ticket": dispatch.payload.get("ticket", {}).get("number"),
        "attempts": dispatch.attempts,
        "next_attempt_at": _iso(dispatch.next_attempt_at),
        "last_error": dispatch.last_error,
        "created_at": _iso(dispatch.created_at),
        "delivered_at": _iso(dispatch.delivered_at),
        "acknowledged_by": dispatch.acknowledged_by,
    }
    if payload:
        view["payload"] = dispatch.payload
    return view


async def _queue_unit(request: web.Request, user: StaffUser) -> int:
    """A unit user's own unit; a supervisor or admin names one with ``?unit=CODE``."""
    own = _own_unit(user)
    if own is not None:
        return own
    code = request.query.get("unit")
    if not code:
        raise ValidationFailed("unit: give the unit code whose queue to read")
    async with request.app[DATABASE].read() as session:
        unit = await unit_repo.by_code(session, code=code)
    assert unit.id is not None
    return unit.id


@require_roles(Role.UNIT, Role.SUPERVISOR)
async def unit_queue(request: web.Request) -> web.Response:
    """The caller's items not yet acknowledged, oldest first; page on with ``after``."""
    user = current_user(request)
    unit_id = await _queue_unit(request, user)
    after = query_int(request, "after", 0, low=0, high=2**62)
    limit = query_int(request, "limit", 50, low=1, high=500)
    async with request.app[DATABASE].read() as session:
        items = await queue.unit_queue(session, unit_id=unit_id, after=after, limit=limit)
        unit = await unit_repo.get(session, unit_id=unit_id)
    views = [dispatch_view(d, unit, payload=True) for d in items]
    cursor = items[-1].id if items else after
    return json_response({"unit": unit.code, "items": views, "next_after": cursor})


@require_roles(Role.UNIT)
async def acknowledge(request: web.Request) -> web.Response:
    user = current_user(request)
    dispatch_id = _path_id(request)
    async with request.app[DATABASE].session() as session:
        ack = await queue.acknowledge(
            session, dispatch_id=dispatch_id, unit_id=_own_unit(user), actor=_actor(user)
        )
        unit = await unit_repo.get(session, unit_id=ack.dispatch.unit_id)
    return json_response(
        {
            "item": dispatch_view(ack.dispatch, unit, payload=False),
            "ticket_accepted": ack.accepted,
            "already_acknowledged": ack.repeated,
            "note": ack.note,
        }
    )


@require_roles(Role.SUPERVISOR)
async def list_dispatches(request: web.Request) -> web.Response:
    raw_status = request.query.get("status")
    try:
        status = DispatchStatus(raw_status) if raw_status else None
    except ValueError as e:
        allowed = ", ".join(s.value for s in DispatchStatus)
        raise ValidationFailed(f"status: must be one of {allowed}") from e
    limit = query_int(request, "limit", 50, low=1, high=500)
    offset = query_int(request, "offset", 0, low=0, high=10**9)
    async with request.app[DATABASE].read() as session:
        unit_id = None
        if code := request.query.get("unit"):
            unit_id = (await unit_repo.by_code(session, code=code)).id
        rows, total = await queue.list_dispatches(
            session, status=status, unit_id=unit_id, limit=limit, offset=offset
        )
        units = await queue.units_by_id(session, [d.unit_id for d in rows])
    views = [dispatch_view(d, units.get(d.unit_id), payload=False) for d in rows]
    return json_response({"total": total, "items": views})


@require_roles(Role.SUPERVISOR)
async def retry(request: web.Request) -> web.Response:
    dispatch_id = _path_id(request)
    async with request.app[DATABASE].session() as session:
        dispatch = await queue.retry(
            session, dispatch_id=dispatch_id, actor=_actor(current_user(request))
        )
        unit = await unit_repo.get(session, unit_id=dispatch.unit_id)
    return json_response(dispatch_view(dispatch, unit, payload=False))


@require_roles(Role.UNIT, Role.SUPERVISOR)
async def overdue(request: web.Request) -> web.Response:
    """Escalated tickets still open; a unit sees only its own."""
    limit = query_int(request, "limit", 50, low=1, high=500)
    offset = query_int(request, "offset", 0, low=0, high=10**9)
    async with request.app[DATABASE].read() as session:
        tickets, total = await queue.overdue(
            session, unit_id=_own_unit(current_user(request)), limit=limit, offset=offset
        )
        units = await queue.units_by_id(session, [t.unit_id for t in tickets])
    items = [
        {
            **ticket_summary(t),
            "unit": units[t.unit_id].code if t.unit_id in units else None,
            "escalated_at": _iso(t.escalated_at),
        }
        for t in tickets
    ]
    return json_response({"total": total, "items": items})


def _path_id(request: web.Request, what: str = "queue item") -> int:
    raw = request.match_info["id"]
    # isascii: str.isdigit() also accepts "²", which int() refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"{what} {raw} does not exist")
    return int(raw)


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{STAFF}/queue", unit_queue),
        web.post(f"{STAFF}/queue/{{id}}/ack", acknowledge),
        web.get(f"{STAFF}/dispatches", list_dispatches),
        web.post(f"{STAFF}/dispatches/{{id}}/retry", retry),
        web.get(f"{STAFF}/reports/overdue", overdue),
    ]
