"""The caller's history across channels, for agents and supervisors (not units).

* ``GET /citizens/{id}``: contact points, tickets (and tickets giving the same phone),
  conversations on every channel, and the satisfaction they gave;
* ``GET /citizens?phone=``: who has this number, and the tickets that give it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.errors import NotFound
from hotline.intake import history as citizen_history
from hotline.phones import canonical
from hotline.storage.models import Conversation, Role
from hotline.web.bodies import query_int
from hotline.web.keys import CONFIG, DATABASE
from hotline.web.responses import json_response
from hotline.web.security import require_roles
from hotline.web.staff_views import ticket_summary

CITIZENS = "/api/v1/staff/citizens"
DESK = (Role.AGENT, Role.SUPERVISOR)


def history_view(found: citizen_history.History) -> dict[str, Any]:
    return {
        "citizen_id": found.citizen.id,
        "name": found.citizen.name,
        # verified: a channel proved it (a call or SMS from it, a checked code); else the
        # citizen only gave it, an address to answer at that identifies nobody
        "contacts": [
            {"kind": c.kind, "value": c.value, "verified": c.verified} for c in found.contacts
        ],
        "total_tickets": found.total_tickets,
        "tickets": [ticket_summary(t) for t in found.tickets],
        "same_phone_tickets": [ticket_summary(t) for t in found.same_phone],
        "conversations": [conversation_view(c) for c in found.conversations],
        "ratings": dict(found.ratings),
    }


def conversation_view(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "state": conversation.state,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


@require_roles(*DESK)
async def show(request: web.Request) -> web.Response:
    raw = request.match_info["citizen_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise NotFound(f"citizen {raw} does not exist")
    limit = query_int(request, "limit", 20, low=1, high=200)
    async with request.app[DATABASE].read() as session:
        found = await citizen_history.history(session, int(raw), limit=limit)
    return json_response(history_view(found))


@require_roles(*DESK)
async def find(request: web.Request) -> web.Response:
    # any way of writing it (13800138000, +86 138…, 010-…): stored and looked up as E.164
    phone = canonical(request.query.get("phone", ""), request.app[CONFIG].callbacks.country_code)
    async with request.app[DATABASE].read() as session:
        citizens = await citizen_history.citizens_with_phone(session, phone)
        tickets = await citizen_history.tickets_with_phone(session, phone)
    return json_response({"citizen_ids": citizens, "tickets": [ticket_summary(t) for t in tickets]})


def routes() -> list[web.RouteDef]:
    return [web.get(CITIZENS, find), web.get(f"{CITIZENS}/{{citizen_id}}", show)]
