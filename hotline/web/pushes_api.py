"""Messages to citizens on the channels that push (the push outbox), for supervisors and agents.

* ``GET /api/v1/staff/pushes?status=dead``: who was never reached, newest message first
  (``status``: pending, failed, sent, held, dead or expired; ``channel``; ``since``: written at
  or after); the address is masked, the text cut short;
* ``POST /api/v1/staff/pushes/{id}/retry``: send a dead or expired one again
  (:mod:`hotline.channels.undelivered` says which are refused, 409);
* ``GET /api/v1/staff/reports/pushes?days=30``: how the messages written in those days stand,
  per channel.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from hotline.callbacks.links import hide_tokens
from hotline.channels import undelivered
from hotline.errors import ValidationFailed
from hotline.nlu.masking import mask_address, mask_personal_data
from hotline.storage.models import CitizenPush, Message
from hotline.storage.repos import pushes
from hotline.storage.repos.pushes import PushState
from hotline.storage.types import utcnow
from hotline.web.bodies import query_int
from hotline.web.callbacks_api import _enum
from hotline.web.dispatch_api import _iso, _path_id
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff import WORKERS, _actor

STAFF = "/api/v1/staff"
#: characters of the message shown in a list
PREVIEW = 60
#: a "+08:00" offset whose "+" the query string turned into a space
_SPACED_OFFSET = re.compile(r" (\d\d:?\d\d)$")


def push_view(
    push: CitizenPush, message: Message, ticket: str | None, instead: CitizenPush | None = None
) -> dict[str, Any]:
    """A row as staff see it: the address masked, the text cut short and masked."""
    text = mask_personal_data(hide_tokens(message.text))  # a question stored with its token
    return {
        "id": push.id,
        "channel": push.channel,
        "address": mask_address(push.address),
        "status": pushes.state_of(push),
        "attempts": push.attempts,
        "last_error": mask_personal_data(push.last_error) if push.last_error else None,
        "created_at": _iso(push.created_at),
        "updated_at": _iso(push.updated_at),
        "next_attempt_at": _iso(push.next_attempt_at),
        "sent_at": _iso(push.sent_at),
        "held_until": _iso(push.held_until),
        "ticket": ticket,
        "conversation": message.conversation_id,
        "author": message.author,
        "text": text if len(text) <= PREVIEW else text[:PREVIEW] + "…",
        "retried_by": push.retried_by,
        "retried_at": _iso(push.retried_at),
        # an expired message written again another way: the citizen may have it after all
        "sent_instead": (
            {"id": instead.id, "channel": instead.channel, "status": pushes.state_of(instead)}
            if instead is not None
            else None
        ),
    }


@require_roles(*WORKERS)
async def list_pushes(request: web.Request) -> web.Response:
    where = pushes.PushFilter(
        state=_enum(request, "status", PushState),
        channel=request.query.get("channel") or None,
        since=_query_time(request, "since"),
        limit=query_int(request, "limit", 50, low=1, high=500),
        offset=query_int(request, "offset", 0, low=0, high=10**9),
    )
    async with request.app[DATABASE].read() as session:
        rows, total = await pushes.search(session, where=where)
        instead = await pushes.copies(session, pushes=[push for push, _, _ in rows])
    items = [push_view(p, m, number, instead.get(p.id or 0)) for p, m, number in rows]
    return json_response({"total": total, "items": items})


@require_roles(*WORKERS)
async def retry(request: web.Request) -> web.Response:
    push_id = _path_id(request, "push")
    async with request.app[DATABASE].session() as session:
        done = await undelivered.retry(
            session, push_id=push_id, actor=_actor(current_user(request))
        )
    return json_response(push_view(done.push, done.message, done.ticket))


@require_roles(*WORKERS)
async def report(request: web.Request) -> web.Response:
    """How the messages written in the last ``days`` days stand, per channel."""
    days = query_int(request, "days", 30, low=1, high=366)
    until = utcnow()
    since = until - timedelta(days=days)
    async with request.app[DATABASE].read() as session:
        found = await pushes.counts(session, since=since)
    total = {state: sum(row[state] for row in found.values()) for state in PushState}
    return json_response(
        {
            "days": days,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "rows": [
                _counts(counted, channel=channel) for channel, counted in sorted(found.items())
            ],
            "total": _counts(total),
        }
    )


def _counts(counted: dict[PushState, int], **key: str) -> dict[str, Any]:
    return {**key, "messages": sum(counted.values()), **{s.value: counted[s] for s in PushState}}


def _query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    example = "e.g. 2026-12-01T00:00:00+08:00 or 2026-11-30T16:00:00Z"
    try:
        value = datetime.fromisoformat(_SPACED_OFFSET.sub(r"+\1", raw))
    except ValueError as e:
        raise ValidationFailed(f"{name}: must be an ISO 8601 time, {example}") from e
    if value.tzinfo is None:
        raise ValidationFailed(f"{name}: give the time zone, {example}")
    return value


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{STAFF}/pushes", list_pushes),
        web.post(f"{STAFF}/pushes/{{id}}/retry", retry),
        web.get(f"{STAFF}/reports/pushes", report),
    ]
