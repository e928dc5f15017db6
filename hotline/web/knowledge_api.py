"""The staff knowledge-base API: editors' workflow, agents' live search, and the gaps.

Who sees what: editors, supervisors (and admins) see every entry with its working copy and
history; agents and unit users see only what is published, as it is published.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hotline.errors import Forbidden, HotlineError, NotFound, ValidationFailed
from hotline.knowledge import workflow as wf
from hotline.knowledge.answering import KnowledgeAnswerer
from hotline.knowledge.gaps import gap_view, mark_handled
from hotline.storage.models import EntryStatus, GapStatus, KnowledgeEntry, KnowledgeVersion, Role
from hotline.storage.repos import knowledge as repo
from hotline.web.bodies import query_int, read_json
from hotline.web.keys import DATABASE
from hotline.web.responses import json_response
from hotline.web.security import current_user, require_roles

KNOWLEDGE = web.AppKey("knowledge", KnowledgeAnswerer)
EDITORS = (Role.EDITOR, Role.SUPERVISOR)
READERS = (Role.AGENT, Role.SUPERVISOR, Role.EDITOR, Role.UNIT)
SEARCHERS = (Role.AGENT, Role.SUPERVISOR, Role.EDITOR)
PREFIX = "/api/v1/staff/kb"


class KnowledgeUnavailable(HotlineError):
    """The process has no knowledge index (not configured or not started)."""

    code = "knowledge_unavailable"
    status = 503


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    comment: str | None = Field(default=None, max_length=2000)


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    comment: str = Field(min_length=1, max_length=2000)


class RetireIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str | None = Field(default=None, max_length=2000)


class RestoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)


class HandledIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_id: int | None = Field(default=None, ge=1)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def entry_view(entry: KnowledgeEntry) -> dict[str, Any]:
    """The editors' view: the working copy, its state, and what is live."""
    return {
        "id": entry.id,
        **wf.snapshot(entry),
        "status": entry.status,
        "published_version": entry.published_version,
        "published": entry.published,
        "author_id": entry.author_id,
        "reviewer_id": entry.reviewer_id,
        "review_comment": entry.review_comment,
        "created_at": _iso(entry.created_at),
        "updated_at": _iso(entry.updated_at),
    }


def published_view(entry: KnowledgeEntry) -> dict[str, Any]:
    """What agents and units see: only the live version."""
    return {"id": entry.id, **(entry.published or {}), "status": EntryStatus.PUBLISHED}


def version_view(row: KnowledgeVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "action": row.action,
        "actor": row.actor,
        "at": _iso(row.at),
        "changes": row.changes,
        "snapshot": row.snapshot,
    }


def _is_editor(request: web.Request) -> bool:
    return current_user(request).role in (*EDITORS, Role.ADMIN)


def _entry_id(request: web.Request) -> int:
    return int(request.match_info["entry_id"])


async def _optional(request: web.Request, model: type[CommentIn | RetireIn]) -> Any:
    """Bodies that may be left out entirely."""
    if not request.can_read_body:
        return model()
    return await read_json(request, model)


@require_roles(*READERS)
async def list_entries(request: web.Request) -> web.Response:
    raw = request.query.get("status")
    if raw is not None and raw not in {s.value for s in EntryStatus}:
        raise ValidationFailed(f"status: one of {', '.join(s.value for s in EntryStatus)}")
    editor = _is_editor(request)
    if not editor and raw not in (None, EntryStatus.PUBLISHED):
        raise Forbidden("only editors and supervisors may list unpublished entries")
    where = repo.EntryFilter(
        status=EntryStatus(raw) if raw and editor else None,
        text=request.query.get("q") or None,
        live_only=not editor,
        limit=query_int(request, "limit", 50, low=1, high=500),
        offset=query_int(request, "offset", 0, low=0, high=10_000_000),
    )
    async with request.app[DATABASE].session() as session:
        rows, total = await repo.search(session, where=where)
    view = entry_view if editor else published_view
    return json_response({"total": total, "entries": [view(e) for e in rows]})


@require_roles(*READERS)
async def get_entry(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        entry = await repo.get(session, entry_id=_entry_id(request))
        if not _is_editor(request):
            if entry.published is None:
                # Agents and units must not learn that unpublished entries exist.
                raise NotFound(f"knowledge entry {entry.id} does not exist")
            return json_response({"entry": published_view(entry)})
        rows = await repo.history(session, entry_id=entry.id or 0)
    return json_response({"entry": entry_view(entry), "history": [version_view(r) for r in rows]})


@require_roles(*EDITORS)
async def create_entry(request: web.Request) -> web.Response:
    body = await read_json(request, wf.EntryContent)
    async with request.app[DATABASE].session() as session:
        entry = await wf.create_draft(session, actor=current_user(request), content=body)
    return json_response({"entry": entry_view(entry)}, status=201)


@require_roles(*EDITORS)
async def update_entry(request: web.Request) -> web.Response:
    body = await read_json(request, wf.EntryPatch)
    async with request.app[DATABASE].session() as session:
        entry = await wf.update_draft(
            session, actor=current_user(request), entry_id=_entry_id(request), patch=body
        )
    return json_response({"entry": entry_view(entry)})


@require_roles(*EDITORS)
async def submit_entry(request: web.Request) -> web.Response:
    async with request.app[DATABASE].session() as session:
        entry = await wf.submit(session, actor=current_user(request), entry_id=_entry_id(request))
    return json_response({"entry": entry_view(entry)})


@require_roles(*EDITORS)
async def approve_entry(request: web.Request) -> web.Response:
    body: CommentIn = await _optional(request, CommentIn)
    async with request.app[DATABASE].session() as session:
        entry = await wf.approve(
            session,
            actor=current_user(request),
            entry_id=_entry_id(request),
            comment=body.comment or None,
        )
    return json_response({"entry": entry_view(entry)})


@require_roles(*EDITORS)
async def reject_entry(request: web.Request) -> web.Response:
    body = await read_json(request, RejectIn)
    async with request.app[DATABASE].session() as session:
        entry = await wf.reject(
            session, actor=current_user(request), entry_id=_entry_id(request), comment=body.comment
        )
    return json_response({"entry": entry_view(entry)})


@require_roles(*EDITORS)
async def retire_entry(request: web.Request) -> web.Response:
    body: RetireIn = await _optional(request, RetireIn)
    async with request.app[DATABASE].session() as session:
        entry = await wf.retire(
            session, actor=current_user(request), entry_id=_entry_id(request), reason=body.reason
        )
    return json_response({"entry": entry_view(entry)})


@require_roles(*EDITORS)
async def restore_entry(request: web.Request) -> web.Response:
    body = await read_json(request, RestoreIn)
    async with request.app[DATABASE].session() as session:
        entry = await wf.restore(
            session, actor=current_user(request), entry_id=_entry_id(request), version=body.version
        )
    return json_response({"entry": entry_view(entry)})


@require_roles(*SEARCHERS)
async def search(request: web.Request) -> web.Response:
    """Agents look up an answer while on the phone: top 5 with confidence and spoken text."""
    query = request.query.get("q", "").strip()
    if not query or len(query) > 500:
        raise ValidationFailed("q: give the question, 1 to 500 characters")
    answerer = request.app.get(KNOWLEDGE)
    if answerer is None:
        raise KnowledgeUnavailable("the knowledge base is not available in this process")
    answers = await answerer.answer(query)
    return json_response(
        {
            "results": [
                {
                    "entry_id": a.entry_id,
                    "version": a.version,
                    "question": a.question,
                    "answer": a.answer,
                    "spoken_answer": a.spoken,
                    "confidence": round(a.confidence, 4),
                }
                for a in answers[:5]
            ]
        }
    )


@require_roles(*EDITORS)
async def list_gaps(request: web.Request) -> web.Response:
    raw = request.query.get("status", GapStatus.OPEN)
    if raw not in {s.value for s in GapStatus} | {"all"}:
        raise ValidationFailed("status: open, handled or all")
    async with request.app[DATABASE].session() as session:
        rows = await repo.gaps_by_frequency(
            session,
            status=None if raw == "all" else GapStatus(raw),
            limit=query_int(request, "limit", 50, low=1, high=500),
            offset=query_int(request, "offset", 0, low=0, high=10_000_000),
        )
    return json_response({"gaps": [gap_view(g) for g in rows]})


@require_roles(*EDITORS)
async def handle_gap(request: web.Request) -> web.Response:
    body = await read_json(request, HandledIn)
    async with request.app[DATABASE].session() as session:
        gap = await mark_handled(
            session,
            actor=current_user(request),
            gap_id=int(request.match_info["gap_id"]),
            entry_id=body.entry_id,
        )
    return json_response({"gap": gap_view(gap)})


def routes() -> list[web.RouteDef]:
    entry = f"{PREFIX}/entries/{{entry_id:\\d+}}"
    return [
        web.get(f"{PREFIX}/entries", list_entries),
        web.post(f"{PREFIX}/entries", create_entry),
        web.get(entry, get_entry),
        web.patch(entry, update_entry),
        web.post(f"{entry}/submit", submit_entry),
        web.post(f"{entry}/approve", approve_entry),
        web.post(f"{entry}/reject", reject_entry),
        web.post(f"{entry}/retire", retire_entry),
        web.post(f"{entry}/restore", restore_entry),
        web.get(f"{PREFIX}/search", search),
        web.get(f"{PREFIX}/gaps", list_gaps),
        web.post(f"{PREFIX}/gaps/{{gap_id:\\d+}}/handled", handle_gap),
    ]
