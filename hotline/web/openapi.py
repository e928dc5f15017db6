"""The OpenAPI 3.1 description served at ``/api/v1/openapi.json``, built from the models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from hotline import __version__
from hotline.channels.app import AppMessageIn
from hotline.channels.letters import LetterIn, PhoneCodeIn
from hotline.knowledge.workflow import EntryContent, EntryPatch
from hotline.web.callbacks_api import ManualResultIn
from hotline.web.knowledge_api import CommentIn, HandledIn, RejectIn, RestoreIn, RetireIn
from hotline.web.live_api import TicketIn as LiveTicketIn
from hotline.web.responses import json_response
from hotline.web.routing_api import CheckIn, ExplainIn, RulesIn
from hotline.web.staff import ClassificationIn, LoginIn, TextIn, UserIn
from hotline.web.ticket_actions import (
    ApproveIn,
    ExtensionIn,
    ReasonIn,
    RefuseIn,
    ResolveIn,
    UnitCodeIn,
)

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    body: type[BaseModel] | None = None
    security: str | None = None
    errors: tuple[int, ...] = (400, 401, 404, 413, 422, 503)


KB = "/api/v1/staff/kb"
KB_ENTRY = f"{KB}/entries/{{entry_id}}"
TICKET = "/api/v1/staff/tickets/{number}"
ROUTING = "/api/v1/staff/routing"
LIVE = "/api/v1/staff/live"
ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 422, 503)
TICKET_ACTIONS: tuple[tuple[str, str, type[BaseModel] | None], ...] = (
    ("accept", "签收: a unit accepts a dispatched ticket", None),
    ("return", "退回: a unit returns the ticket to triage", ReasonIn),
    ("extension", "延期申请: a unit asks for a later due time", ExtensionIn),
    ("extension/approve", "Approve the pending extension (supervisor)", ApproveIn),
    ("extension/refuse", "Refuse the pending extension (supervisor)", RefuseIn),
    ("progress", "A unit's progress note", TextIn),
    ("resolve", "办结: a unit resolves; the reply goes to the citizen", ResolveIn),
    ("reroute", "Send the ticket to another unit (supervisor)", UnitCodeIn),
    ("assign", "Route a triage or returned ticket to a unit", UnitCodeIn),
    ("close", "归档: close a resolved ticket (supervisor)", None),
)

OPERATIONS = (
    Operation(
        "post",
        "/api/v1/messages",
        "Send a citizen's message; repeating message_id returns the first answer",
        AppMessageIn,
        "apiKey",
    ),
    Operation(
        "get",
        "/api/v1/conversations/{conversation_id}",
        "A conversation with its messages",
        None,
        "apiKey",
    ),
    Operation(
        "get",
        "/api/v1/tickets/{number}/status",
        "A ticket's status for the citizen (query: phone)",
        None,
        "apiKey",
    ),
    Operation(
        "get",
        "/api/v1/ws",
        "WebSocket chat (query: sender); frames are message JSON objects",
        None,
        "apiKey",
    ),
    Operation(
        "post",
        "/api/v1/letters",
        "Letter box: creates a ticket (JSON, or multipart with attachments); with SMS, "
        "phone_code proves the phone (403 when wrong, expired or used)",
        LetterIn,
        "apiKey",
        (400, 401, 403, 413, 415, 422, 503),
    ),
    Operation(
        "post",
        "/api/v1/letters/phone-code",
        "Send the code a letter for this mobile will carry, by SMS (202; 429 when asked "
        "too soon, 409 when phones are not verified here)",
        PhoneCodeIn,
        "apiKey",
        (400, 401, 409, 413, 422, 429, 503),
    ),
    Operation("post", "/api/v1/staff/login", "Log in; returns a bearer token", LoginIn),
    Operation("post", "/api/v1/staff/logout", "Revoke the current token", None, "bearer"),
    Operation("get", "/api/v1/staff/me", "The logged-in user", None, "bearer"),
    Operation(
        "get",
        "/api/v1/staff/tickets",
        "Tickets (query: status=queue (triage + returned, default)|triage|...|all, "
        "emergency=true (flagged emergencies only), limit, offset)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/tickets/{number}",
        "A ticket with its history and conversation",
        None,
        "bearer",
    ),
    Operation(
        "put",
        "/api/v1/staff/tickets/{number}/classification",
        "Set or correct the classification",
        ClassificationIn,
        "bearer",
    ),
    Operation(
        "post",
        "/api/v1/staff/tickets/{number}/notes",
        "Add a note to the history",
        TextIn,
        "bearer",
    ),
    Operation(
        "post",
        "/api/v1/staff/conversations/{conversation_id}/replies",
        "Reply to the citizen",
        TextIn,
        "bearer",
    ),
    Operation("post", "/api/v1/staff/users", "Create a staff user (admin)", UserIn, "bearer"),
    *(
        Operation("post", f"{TICKET}/{action}", summary, body, "bearer", ACTION_ERRORS)
        for action, summary, body in TICKET_ACTIONS
    ),
    Operation(
        "get",
        "/api/v1/staff/reports/returns",
        "Returns per unit and subcategory (query: days)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/queue",
        "A pull unit's dispatches not yet acknowledged (query: after, limit; unit for supervisors)",
        None,
        "bearer",
    ),
    Operation(
        "post",
        "/api/v1/staff/queue/{id}/ack",
        "Acknowledge a queue item (签收); a dispatch accepts its ticket",
        None,
        "bearer",
        (401, 403, 404, 409),
    ),
    Operation(
        "get",
        "/api/v1/staff/dispatches",
        "Dispatches (query: status=pending|delivered|acknowledged|dead, unit, limit, offset)",
        None,
        "bearer",
    ),
    Operation(
        "post",
        "/api/v1/staff/dispatches/{id}/retry",
        "Send a dead-lettered dispatch again",
        None,
        "bearer",
        (401, 403, 404, 409),
    ),
    Operation(
        "get",
        "/api/v1/staff/pushes",
        "Messages pushed to citizens, address masked (query: status=pending|failed|sent|held|"
        "dead|expired, channel, since, limit, offset)",
        None,
        "bearer",
    ),
    Operation(
        "post",
        "/api/v1/staff/pushes/{id}/retry",
        "Send a dead or expired push again (409 for other states and callback questions)",
        None,
        "bearer",
        (401, 403, 404, 409),
    ),
    Operation(
        "get",
        "/api/v1/staff/reports/pushes",
        "Pushes written in the last days per channel and status (query: days)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/reports/overdue",
        "Escalated (督办) tickets still open, longest overdue first",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/callbacks",
        "Satisfaction callbacks (回访) (query: status, rating, limit, offset); units: their own",
        None,
        "bearer",
    ),
    Operation("get", f"{TICKET}/callbacks", "A ticket's callbacks, newest first", None, "bearer"),
    Operation(
        "post",
        f"{TICKET}/callback",
        "人工回访: record the answer an agent heard; 不满意 reopens (重办)",
        ManualResultIn,
        "bearer",
        ACTION_ERRORS,
    ),
    Operation(
        "get",
        "/api/v1/staff/reports/satisfaction",
        "办结率 and 满意率 per unit or category (query: days, by=unit|category)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/reports/trends",
        "Requests rising this week (query: days, weeks, by=category|subcategory|area)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/citizens",
        "Who holds this phone number (proven), and the tickets giving it (query: phone)",
        None,
        "bearer",
    ),
    Operation(
        "get",
        "/api/v1/staff/citizens/{citizen_id}",
        "A citizen's history across channels: contacts (each with verified: proven by a "
        "channel, or only given), tickets, conversations, ratings",
        None,
        "bearer",
    ),
    Operation("get", LIVE, "转人工: conversations waiting for a person, and mine", None, "bearer"),
    Operation(
        "get",
        f"{LIVE}/{{conversation_id}}",
        "A live conversation with the model's suggestions and knowledge candidates",
        None,
        "bearer",
    ),
    *(
        Operation(
            "post", f"{LIVE}/{{conversation_id}}/{action}", summary, body, "bearer", ACTION_ERRORS
        )
        for action, summary, body in (
            ("take", "接入: take a waiting conversation (a caller is bridged; 502 if not)", None),
            ("release", "Hand the conversation back to the bot", None),
            ("ticket", "File the citizen's ticket from a short form", LiveTicketIn),
        )
    ),
    Operation("get", f"{KB}/entries", "Knowledge entries (query: status, q)", None, "bearer"),
    Operation("post", f"{KB}/entries", "Create a draft entry (editor)", EntryContent, "bearer"),
    Operation("get", f"{KB_ENTRY}", "An entry with its version history", None, "bearer"),
    Operation("patch", f"{KB_ENTRY}", "Change the draft (editor)", EntryPatch, "bearer"),
    Operation("post", f"{KB_ENTRY}/submit", "Submit the draft for review", None, "bearer"),
    Operation(
        "post", f"{KB_ENTRY}/approve", "Approve and publish (not the author)", CommentIn, "bearer"
    ),
    Operation(
        "post", f"{KB_ENTRY}/reject", "Reject with a comment (not the author)", RejectIn, "bearer"
    ),
    Operation("post", f"{KB_ENTRY}/retire", "Stop answering with this entry", RetireIn, "bearer"),
    Operation("post", f"{KB_ENTRY}/restore", "Restore an old version", RestoreIn, "bearer"),
    Operation("get", f"{KB}/search", "Agents' knowledge search (query: q)", None, "bearer"),
    Operation("get", f"{KB}/gaps", "Unanswered questions by frequency", None, "bearer"),
    Operation("post", f"{KB}/gaps/{{gap_id}}/handled", "Mark a gap handled", HandledIn, "bearer"),
    Operation(
        "get", f"{ROUTING}/rules", "Routing rules in force: version, YAML, parsed", None, "bearer"
    ),
    Operation(
        "get", f"{ROUTING}/rules/versions", "Saved rule versions, newest first", None, "bearer"
    ),
    Operation(
        "put",
        f"{ROUTING}/rules",
        "Save a new rules version (supervisor); validated, 409 on a stale base_version",
        RulesIn,
        "bearer",
        (400, 401, 403, 409, 413, 422, 503),
    ),
    Operation(
        "post", f"{ROUTING}/rules/check", "Dry run: problems, coverage, changes", CheckIn, "bearer"
    ),
    Operation(
        "post",
        f"{ROUTING}/explain",
        "Where a request would be routed, and why",
        ExplainIn,
        "bearer",
    ),
    Operation("get", "/api/v1/openapi.json", "This description"),
    Operation("get", "/healthz", "The process is up"),
    Operation("get", "/readyz", "The database answers"),
    Operation("get", "/metrics", "Prometheus metrics"),
)


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"summary": op.summary, "responses": {"200": {"description": "OK"}}}
    for status in op.errors:
        spec["responses"][str(status)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    if op.body is not None:
        schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[op.body.__name__] = schema
        ref = {"$ref": f"#/components/schemas/{op.body.__name__}"}
        spec["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    if op.security:
        spec["security"] = [{op.security: []}]
    params = [p.strip("{}") for p in op.path.split("/") if p.startswith("{")]
    if params:
        spec["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    return spec


def build_spec() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hotline",
            "version": __version__,
            "description": "City 12345 hotline intake API",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


async def openapi(request: web.Request) -> web.Response:
    return json_response(build_spec())


def routes() -> list[web.RouteDef]:
    return [web.get("/api/v1/openapi.json", openapi)]
