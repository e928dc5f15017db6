"""The staff API: login, the agents' triage queue, tickets, classification, notes, replies."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth import MIN_PASSWORD_LENGTH, hash_password, verify_password
from hotline.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from hotline.intake import duplicates
from hotline.storage.models import ClassificationFeedback, Role, StaffUser, Ticket, TicketStatus
from hotline.storage.repos import conversations, staff
from hotline.storage.repos import tickets as ticket_repo
from hotline.web.bodies import query_flag, query_int, read_json
from hotline.web.keys import CONFIG, DATABASE, PIPELINE
from hotline.web.responses import json_response
from hotline.web.security import bearer_token, current_user, require_roles
from hotline.web.staff_views import (
    event_view,
    staff_message_view,
    ticket_detail,
    ticket_summary,
)

WORKERS = (Role.AGENT, Role.SUPERVISOR)
#: what agents have to route: new tickets and those a unit returned
TRIAGE_QUEUE = (TicketStatus.TRIAGE, TicketStatus.RETURNED)
TICKET_READERS = (Role.AGENT, Role.SUPERVISOR, Role.UNIT)


class CategoryCheck(Protocol):
    def check(self, category: str, subcategory: str) -> None:
        """Raise :class:`ValidationFailed` unless the pair is in the taxonomy."""
        ...


CATEGORY_CHECK = web.AppKey("category_check", CategoryCheck)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ClassificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: str = Field(min_length=1, max_length=16)
    subcategory: str = Field(min_length=1, max_length=16)


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=4000)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=256)
    role: Role
    unit_id: int | None = None


def user_view(user: StaffUser) -> dict[str, object]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "unit_id": user.unit_id,
    }


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, LoginIn)
    ttl = timedelta(minutes=request.app[CONFIG].auth.token_ttl_minutes)
    async with request.app[DATABASE].session() as session:
        user = await staff.by_username(session, username=body.username)
        valid = verify_password(body.password, user.password_hash if user else None)
        if user is None or not valid or not user.active:
            raise Unauthorized("wrong username or password")
        token, expires_at = await staff.issue_token(session, user=user, ttl=ttl)
    return json_response(
        {"token": token, "expires_at": expires_at.isoformat(), "user": user_view(user)}
    )


@require_roles(*Role)
async def logout(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        await staff.revoke_token(session, token=bearer_token(request))
    return json_response({"logged_out": True})


@require_roles(*Role)
async def me(request: web.Request) -> web.Response:
    return json_response(user_view(current_user(request)))


@require_roles(*TICKET_READERS)
async def list_tickets(request: web.Request) -> web.Response:
    user = current_user(request)
    # Agents start from the triage queue; a unit from everything it has been sent.
    default = "all" if user.role == Role.UNIT else "queue"
    raw_status = request.query.get("status", default)
    if raw_status not in {s.value for s in TicketStatus} | {"all", "queue"}:
        names = ", ".join(s.value for s in TicketStatus)
        raise ValidationFailed(f"status: one of {names}, queue (triage and returned) or all")
    where = ticket_repo.TicketFilter(
        status=TicketStatus(raw_status) if raw_status not in ("all", "queue") else None,
        statuses=TRIAGE_QUEUE if raw_status == "queue" else (),
        unit_id=_own_unit(user),
        emergency_only=query_flag(request, "emergency"),
        limit=query_int(request, "limit", 50, low=1, high=500),
        offset=query_int(request, "offset", 0, low=0, high=10_000_000),
    )
    async with request.app[DATABASE].session() as session:
        rows, total = await ticket_repo.search(session, where=where)
    return json_response({"total": total, "tickets": [ticket_summary(t) for t in rows]})


@require_roles(*TICKET_READERS)
async def get_ticket(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        events = await ticket_repo.history(session, ticket_id=ticket.id or 0)
        original = await duplicates.original_of(session, ticket)
        messages = []
        if ticket.conversation_id and current_user(request).role != Role.UNIT:
            messages = await conversations.messages(session, conversation_id=ticket.conversation_id)
    return json_response(
        {
            "ticket": ticket_detail(ticket, duplicate_of=original.number if original else None),
            "history": [event_view(e) for e in events],
            "conversation": [staff_message_view(m) for m in messages],
        }
    )


@require_roles(*WORKERS)
async def classify_ticket(request: web.Request) -> web.Response:
    body = await read_json(request, ClassificationIn)
    if (check := request.app.get(CATEGORY_CHECK)) is not None:
        check.check(body.category, body.subcategory)
    user = current_user(request)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        previous = ticket.subcategory_code
        top = ticket.suggestions[0] if ticket.suggestions else {}
        ticket.category_code, ticket.subcategory_code = body.category, body.subcategory
        ticket.classified_by = f"agent:{user.username}"
        await ticket_repo.touch(session, ticket)
        await ticket_repo.record(
            session,
            ticket=ticket,
            actor=_actor(user),
            action="classified",
            from_value=previous,
            to_value=body.subcategory,
        )
        await ticket_repo.add_feedback(
            session,
            ClassificationFeedback(
                ticket_id=ticket.id or 0,
                text=ticket.description,
                suggested_code=top.get("subcategory"),
                suggested_score=top.get("score"),
                category_code=body.category,
                subcategory_code=body.subcategory,
                user_id=user.id or 0,
            ),
        )
    return json_response({"ticket": ticket_detail(ticket)})


@require_roles(*TICKET_READERS)
async def add_note(request: web.Request) -> web.Response:
    body = await read_json(request, TextIn)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await ticket_repo.record(
            session,
            ticket=ticket,
            actor=_actor(current_user(request)),
            action="note",
            note=body.text,
        )
    return json_response(event_view(event), status=201)


@require_roles(*WORKERS)
async def reply_to_citizen(request: web.Request) -> web.Response:
    body = await read_json(request, TextIn)
    message = await request.app[PIPELINE].send_agent_reply(
        conversation_id=request.match_info["conversation_id"],
        text=body.text,
        agent=current_user(request).username,
    )
    return json_response(staff_message_view(message), status=201)


@require_roles(Role.ADMIN)
async def create_user(request: web.Request) -> web.Response:
    body = await read_json(request, UserIn)
    if body.role == Role.UNIT and body.unit_id is None:
        raise ValidationFailed("unit_id: a unit user must belong to a unit")
    async with request.app[DATABASE].session() as session:
        user = await staff.create(
            session,
            username=body.username,
            display_name=body.display_name,
            password_hash=hash_password(body.password),
            role=body.role,
            unit_id=body.unit_id,
        )
    return json_response(user_view(user), status=201)


async def _visible_ticket(request: web.Request, session: AsyncSession) -> Ticket:
    ticket = await ticket_repo.by_number(session, number=request.match_info["number"])
    unit = _own_unit(current_user(request))
    if unit is not None and ticket.unit_id != unit:
        # A unit must not learn that other units' ticket numbers exist.
        raise NotFound(f"ticket {ticket.number} does not exist")
    return ticket


def _own_unit(user: StaffUser) -> int | None:
    if user.role != Role.UNIT:
        return None
    if user.unit_id is None:
        raise Forbidden("this unit user is not attached to a unit")
    return user.unit_id


def _actor(user: StaffUser) -> str:
    return f"{user.role}:{user.username}"


def routes() -> list[web.RouteDef]:
    prefix = "/api/v1/staff"
    return [
        web.post(f"{prefix}/login", login),
        web.post(f"{prefix}/logout", logout),
        web.get(f"{prefix}/me", me),
        web.get(f"{prefix}/tickets", list_tickets),
        web.get(f"{prefix}/tickets/{{number}}", get_ticket),
        web.put(f"{prefix}/tickets/{{number}}/classification", classify_ticket),
        web.post(f"{prefix}/tickets/{{number}}/notes", add_note),
        web.post(f"{prefix}/conversations/{{conversation_id}}/replies", reply_to_citizen),
        web.post(f"{prefix}/users", create_user),
    ]
