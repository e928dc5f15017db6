"""The staff API for routing rules: the version in force, its history, saves, dry runs, explain.

Agents and supervisors read the rules and ask why a request would go where it goes; only
supervisors (and admins) change them. A save names the version it was based on, so two
supervisors editing at once cannot silently overwrite each other (409), and it is validated
exactly as the rules file is (422, nothing stored). The saving process switches at once; the
others follow within a poll (:mod:`hotline.routing.live`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import yaml
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hotline.errors import HotlineError, NotFound, ValidationFailed
from hotline.intake.steps import RouterStep
from hotline.routing.live import LiveRules
from hotline.routing.router import Router
from hotline.routing.rules import RulesInvalid
from hotline.storage.models import Role, RoutingRuleSet
from hotline.storage.repos import routing as repo
from hotline.web.bodies import query_int, read_json
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles

ROUTER = web.AppKey("routing_router", Router)
READERS = (Role.AGENT, Role.SUPERVISOR)
EDITORS = (Role.SUPERVISOR,)
PREFIX = "/api/v1/staff/routing"
MAX_DOCUMENT = 200_000


class RoutingUnavailable(HotlineError):
    """Routing is switched off in this deployment (``routing.enabled: false``)."""

    code = "routing_disabled"
    status = 503


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: the whole rules document, in the rules file's YAML format
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)
    #: the version the edit started from (0: the rules file); a newer one in force is a 409
    base_version: int = Field(ge=0)
    comment: str | None = Field(default=None, max_length=500)

    @field_validator("comment")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail on the insert.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT)


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subcategory: str = Field(min_length=1, max_length=16)
    address: str | None = Field(default=None, max_length=500)
    area: str | None = Field(default=None, max_length=100)
    urgency: Literal["normal", "urgent", "critical"] | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


def _router(request: web.Request) -> tuple[Router, LiveRules]:
    router = request.app.get(ROUTER)
    if router is None or router.live is None:
        raise RoutingUnavailable("routing is not enabled in this deployment (routing.enabled)")
    return router, router.live


def _rules_of(document: str) -> Any:
    """The parsed ``rules`` list of a document that was valid when it was stored."""
    data = yaml.safe_load(document)
    return data.get("rules") if isinstance(data, dict) else None


def _row_view(row: RoutingRuleSet) -> dict[str, Any]:
    return {
        "version": row.version,
        "source": "stored",
        "author": row.author,
        "comment": row.comment,
        "created_at": row.created_at.isoformat(),
        "document": row.document,
    }


def _file_view(live: LiveRules) -> dict[str, Any]:
    return {
        "version": 0,
        "source": "file",
        "author": None,
        "comment": None,
        "created_at": None,
        "document": live.book.seed(),
    }


@require_roles(*READERS)
async def get_rules(request: web.Request) -> web.Response:
    _, live = _router(request)
    async with request.app[DATABASE].read() as session:
        row = await repo.newest(session)
    view = _row_view(row) if row is not None else _file_view(live)
    view["rules"] = await asyncio.to_thread(_rules_of, view["document"])
    view["in_force_here"] = live.version
    return json_response(view)


@require_roles(*READERS)
async def list_versions(request: web.Request) -> web.Response:
    _router(request)
    limit = query_int(request, "limit", 20, low=1, high=200)
    offset = query_int(request, "offset", 0, low=0, high=1_000_000)
    async with request.app[DATABASE].read() as session:
        newest = await repo.newest_version(session)
        rows = await repo.history(session, limit=limit, offset=offset)
    return json_response({"in_force": newest, "versions": [_row_view(r) for r in rows]})


@require_roles(*EDITORS)
async def put_rules(request: web.Request) -> web.Response:
    _, live = _router(request)
    body = await read_json(request, RulesIn)
    try:
        row = await live.save(
            request.app[DATABASE],
            document=body.document,
            base_version=body.base_version,
            author=current_user(request).username,
            comment=body.comment or None,
        )
    except RulesInvalid as e:
        raise ValidationFailed(e.message, code="invalid_rules") from e
    view = _row_view(row)
    view["rules"] = await asyncio.to_thread(_rules_of, row.document)
    view["in_force_here"] = live.version
    return json_response(view)


@require_roles(*EDITORS)
async def check_rules(request: web.Request) -> web.Response:
    _, live = _router(request)
    body = await read_json(request, CheckIn)
    return json_response(await asyncio.to_thread(live.check, body.document))


@require_roles(*READERS)
async def explain(request: web.Request) -> web.Response:
    router, live = _router(request)
    body = await read_json(request, ExplainIn)
    try:
        decision = router.decide(
            subcategory_code=body.subcategory,
            urgency=body.urgency,
            address=body.address,
            area=body.area,
            latitude=body.latitude,
            longitude=body.longitude,
        )
    except NotFound as e:
        raise ValidationFailed(f"subcategory: {e.message}") from e
    return json_response({**decision.to_dict(), "rules_version": live.version})


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{PREFIX}/rules", get_rules),
        web.put(f"{PREFIX}/rules", put_rules),
        web.get(f"{PREFIX}/rules/versions", list_versions),
        web.post(f"{PREFIX}/rules/check", check_rules),
        web.post(f"{PREFIX}/explain", explain),
    ]


def mount(app: web.Application, step: RouterStep) -> None:
    """Add the routes; with routing enabled, keep the router they read and edit."""
    app.router.add_routes(routes())
    if isinstance(step, Router):
        app[ROUTER] = step
