"""Units' and supervisors' actions on tickets: accept, return, extend, progress, resolve, route.

The handlers stay thin: they check the caller and the body, load the ticket the caller may see
and hand over to :mod:`hotline.intake.ticket_actions`, which changes the state and the history.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake import ticket_actions as actions
from hotline.routing.router import RoutingExplanation
from hotline.storage.models import Role, Ticket, TicketEvent
from hotline.web.bodies import query_int, read_json
from hotline.web.callbacks_api import CALLBACKS
from hotline.web.keys import DATABASE, PIPELINE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles
from hotline.web.staff import TextIn, _actor, _visible_ticket
from hotline.web.staff_views import event_view, staff_message_view, ticket_detail

PREFIX = "/api/v1/staff/tickets/{number}"


class DeadlineSource(Protocol):
    def explain_ticket(self, ticket: Ticket) -> RoutingExplanation | None:
        """The routing decision (with its deadline) for a stored ticket."""
        ...


class DispatchAction(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        ticket: Ticket,
        *,
        actor: str,
        unit_code: str,
        due_at: datetime | None,
    ) -> TicketEvent: ...


#: Optional: with a router here, reroutes and assignments recompute the due time.
DEADLINES = web.AppKey("ticket_deadlines", DeadlineSource)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReasonIn(_Body):
    reason: str = Field(min_length=1, max_length=1000)


class ExtensionIn(_Body):
    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=1000)


class ApproveIn(_Body):
    comment: str | None = Field(default=None, max_length=1000)


class RefuseIn(_Body):
    comment: str = Field(min_length=1, max_length=1000)


class ResolveIn(_Body):
    reply: str = Field(min_length=1, max_length=4000)


class UnitCodeIn(_Body):
    unit_code: str = Field(min_length=1, max_length=32)


def _done(ticket: Ticket, event: TicketEvent, **extra: Any) -> web.Response:
    return json_response({"ticket": ticket_detail(ticket), "event": event_view(event), **extra})


@require_roles(Role.UNIT)
async def accept(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.accept(session, ticket, actor=_actor(current_user(request)))
    return _done(ticket, event)


@require_roles(Role.UNIT)
async def return_ticket(request: web.Request) -> web.Response:
    body = await read_json(request, ReasonIn)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.return_ticket(
            session, ticket, actor=_actor(current_user(request)), reason=body.reason
        )
    return _done(ticket, event)


@require_roles(Role.UNIT)
async def request_extension(request: web.Request) -> web.Response:
    body = await read_json(request, ExtensionIn)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.request_extension(
            session,
            ticket,
            actor=_actor(current_user(request)),
            until=body.until.astimezone(UTC),
            reason=body.reason,
        )
    return _done(ticket, event)


@require_roles(Role.SUPERVISOR)
async def approve_extension(request: web.Request) -> web.Response:
    body = await read_json(request, ApproveIn)
    return await _settle(request, approve=True, comment=body.comment)


@require_roles(Role.SUPERVISOR)
async def refuse_extension(request: web.Request) -> web.Response:
    body = await read_json(request, RefuseIn)
    return await _settle(request, approve=False, comment=body.comment)


async def _settle(request: web.Request, *, approve: bool, comment: str | None) -> web.Response:
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.settle_extension(
            session, ticket, actor=_actor(current_user(request)), approve=approve, comment=comment
        )
    return _done(ticket, event)


@require_roles(Role.UNIT)
async def progress(request: web.Request) -> web.Response:
    body = await read_json(request, TextIn)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.progress(
            session, ticket, actor=_actor(current_user(request)), text=body.text
        )
    return json_response(event_view(event), status=201)


@require_roles(Role.UNIT)
async def resolve(request: web.Request) -> web.Response:
    """办结; the reply reaches the citizen's conversation once the resolution is stored (and
    their reply address by mail when that conversation cannot deliver it)."""
    body = await read_json(request, ResolveIn)
    user = current_user(request)
    pipeline = request.app[PIPELINE]
    # The resolution and the citizens' replies commit together: no reply is lost to a failure
    # between two transactions, and none is pushed for a resolution that rolled back.
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event, notices = await actions.resolve(
            session, ticket, actor=_actor(user), reply=body.reply
        )
        callbacks = request.app.get(CALLBACKS)
        if callbacks is not None:
            await callbacks.schedule(session, ticket)  # 回访 of every citizen who reported it
        # each notice in its conversation first, then mailed where that cannot deliver it
        written = [
            await pipeline.outgoing.write_result(session, notice, author=f"agent:{user.username}")
            for notice in notices
        ]
    pipeline.outgoing.announce([m for messages in written for m in messages])
    own = [m[0] for m, n in zip(written, notices, strict=True) if n.ticket is ticket]
    return _done(ticket, event, message=staff_message_view(own[0]) if own else None)


@require_roles(Role.SUPERVISOR)
async def reroute(request: web.Request) -> web.Response:
    return await _dispatch(request, actions.reroute)


@require_roles(Role.AGENT, Role.SUPERVISOR)
async def assign(request: web.Request) -> web.Response:
    return await _dispatch(request, actions.assign)


async def _dispatch(request: web.Request, action: DispatchAction) -> web.Response:
    body = await read_json(request, UnitCodeIn)
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await action(
            session,
            ticket,
            actor=_actor(current_user(request)),
            unit_code=body.unit_code,
            due_at=_recomputed_due(request, ticket),
        )
    return _done(ticket, event)


def _recomputed_due(request: web.Request, ticket: Ticket) -> datetime | None:
    """The router's deadline for the ticket, or None (keep the old one) without a router."""
    source = request.app.get(DEADLINES)
    explanation = source.explain_ticket(ticket) if source is not None else None
    if explanation is None or explanation.deadline is None:
        return None
    return explanation.deadline.due.astimezone(UTC)


@require_roles(Role.SUPERVISOR)
async def close(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        ticket = await _visible_ticket(request, session)
        event = await actions.close(session, ticket, actor=_actor(current_user(request)))
    return _done(ticket, event)


@require_roles(Role.SUPERVISOR)
async def returns_report(request: web.Request) -> web.Response:
    """Returns per unit and per subcategory: where the routing rules send tickets wrongly."""
    days = query_int(request, "days", 30, low=1, high=366)
    async with request.app[DATABASE].session() as session:
        report = await actions.returns_report(session, days=days)
    return json_response(
        {
            "days": days,
            "since": report.since.isoformat(),
            "total": report.total,
            "by_unit": [{"unit": k, "returns": n} for k, n in report.by_unit.most_common()],
            "by_subcategory": [
                {"subcategory": k, "returns": n} for k, n in report.by_subcategory.most_common()
            ],
        }
    )


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{PREFIX}/accept", accept),
        web.post(f"{PREFIX}/return", return_ticket),
        web.post(f"{PREFIX}/extension", request_extension),
        web.post(f"{PREFIX}/extension/approve", approve_extension),
        web.post(f"{PREFIX}/extension/refuse", refuse_extension),
        web.post(f"{PREFIX}/progress", progress),
        web.post(f"{PREFIX}/resolve", resolve),
        web.post(f"{PREFIX}/reroute", reroute),
        web.post(f"{PREFIX}/assign", assign),
        web.post(f"{PREFIX}/close", close),
        web.get("/api/v1/staff/reports/returns", returns_report),
    ]
