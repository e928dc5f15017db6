"""Satisfaction callbacks (回访) in the staff API.

Agents and supervisors list callbacks (``?status=unreached``: the ones to call by hand) and
record the answer of a callback made by hand (人工回访), which acts like the citizen's own; a
unit lists the callbacks about the matters it resolved. The rates are in
:mod:`hotline.web.reports_api`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hotline.callbacks.ratings import label
from hotline.callbacks.service import Callbacks
from hotline.errors import Conflict, ValidationFailed
from hotline.nlu.masking import mask_address
from hotline.storage.models import CallbackStatus, Rating, Role, SatisfactionCallback
from hotline.storage.repos import callbacks as callback_repo
from hotline.web.bodies import query_int, read_json
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff import _own_unit, _visible_ticket
from hotline.web.staff_views import ticket_detail

CALLBACKS = web.AppKey("callbacks", Callbacks)
STAFF = "/api/v1/staff"
E = TypeVar("E", bound=StrEnum)


class ManualResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    rating: Literal["satisfied", "basic", "unsatisfied"]
    reason: str | None = Field(default=None, max_length=1000)


def callback_view(callback: SatisfactionCallback, number: str) -> dict[str, Any]:
    """A callback as staff see it; the address (a phone, an openid) is masked."""
    return {
        "id": callback.id,
        "ticket": number,
        "round": callback.round,
        "status": callback.status,
        "attempts": callback.attempts,
        "method": callback.method,
        "channel": callback.channel,
        "address": mask_address(callback.address) if callback.address else None,
        "next_attempt_at": _iso(callback.next_attempt_at),
        "expires_at": _iso(callback.expires_at),
        "rating": callback.rating,
        "rating_label": label(callback.rating) if callback.rating else None,
        "reason": callback.reason,
        "answered_via": callback.answered_via,
        "answered_at": _iso(callback.answered_at),
        "last_error": callback.last_error,
    }


@require_roles(Role.AGENT, Role.SUPERVISOR, Role.UNIT)
async def list_callbacks(request: web.Request) -> web.Response:
    """Callbacks, newest change first; a unit sees those of the matters it resolved."""
    where = callback_repo.CallbackFilter(
        status=_enum(request, "status", CallbackStatus),
        rating=_enum(request, "rating", Rating),
        unit_id=_own_unit(current_user(request)),
        limit=query_int(request, "limit", 50, low=1, high=500),
        offset=query_int(request, "offset", 0, low=0, high=10**9),
    )
    async with request.app[DATABASE].read() as session:
        rows, total = await callback_repo.search(session, where=where)
    return json_response({"total": total, "items": [callback_view(c, n) for c, n in rows]})


@require_roles(Role.AGENT, Role.SUPERVISOR, Role.UNIT)
async def ticket_callbacks(request: web.Request) -> web.Response:
    async with request.app[DATABASE].read() as session:
        ticket = await _visible_ticket(request, session)
        where = callback_repo.CallbackFilter(ticket_id=ticket.id, limit=100)
        rows, total = await callback_repo.search(session, where=where)
    return json_response({"total": total, "items": [callback_view(c, n) for c, n in rows]})


@require_roles(Role.AGENT, Role.SUPERVISOR)
async def record_manual(request: web.Request) -> web.Response:
    """人工回访: the answer an agent heard on the phone, acted on like the citizen's own."""
    callbacks = request.app.get(CALLBACKS)
    if callbacks is None:
        raise Conflict("satisfaction callbacks are switched off (callbacks.enabled)")
    body = await read_json(request, ManualResultIn)
    user = current_user(request)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        callback, outcome = await callbacks.record_by_agent(
            session, ticket, rating=Rating(body.rating), reason=body.reason, agent=user.username
        )
        view = callback_view(callback, ticket.number)
    return json_response(
        {
            "callback": view,
            "ticket": ticket_detail(ticket),
            "reopened": outcome.reopened,
            "closed": outcome.closed,
            "escalated": outcome.escalated,
            "said": outcome.text,
        },
        status=201,
    )


def _enum(request: web.Request, name: str, kind: type[E]) -> E | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError as e:
        raise ValidationFailed(f"{name}: must be one of {', '.join(k.value for k in kind)}") from e


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{STAFF}/callbacks", list_callbacks),
        web.get(f"{STAFF}/tickets/{{number}}/callbacks", ticket_callbacks),
        web.post(f"{STAFF}/tickets/{{number}}/callback", record_manual),
    ]
