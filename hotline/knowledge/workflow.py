"""The editorial workflow: draft → in review → published → retired, with versions and audit.

* Editors, supervisors and admins create and change drafts. Editing a *published* (or retired)
  entry starts version N+1 as a draft in the entry's working columns; the published snapshot
  keeps answering until the new version is approved. A version in review cannot be edited: the
  reviewer rejects it back to draft first.
* Anyone of those roles may submit a draft. A reviewer (editor, supervisor or admin) who is NOT
  the version's author approves it (→ published, change-log *upsert*) or rejects it with a
  comment (→ draft). The author is whoever last changed the content.
* Retiring takes the entry out of service (change-log *remove* if something was live).
* Restoring version N copies its snapshot into a new version. A supervisor or admin restores
  straight to published (an emergency rollback must not wait for a colleague); an editor's
  restore goes into review like any other change.
* Entries past their ``valid_to`` stop answering at answer time (:mod:`.answering`);
  :func:`expire_due` also retires them so the index and the lists stay tidy.

Every action appends a :class:`KnowledgeVersion` row (who, when, snapshot, what changed); the
database refuses to change those rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.storage.models import (
    ChangeAction,
    EntryStatus,
    KnowledgeEntry,
    KnowledgeVersion,
    Role,
    StaffUser,
)
from hotline.storage.repos import knowledge as repo
from hotline.storage.types import utcnow

EDITORS = (Role.EDITOR, Role.SUPERVISOR, Role.ADMIN)
PUBLISHERS = (Role.SUPERVISOR, Role.ADMIN)
SYSTEM = "system"
CONTENT_FIELDS = (
    "question",
    "similar_questions",
    "answer",
    "spoken_answer",
    "category_code",
    "subcategory_code",
    "unit_code",
    "keywords",
    "valid_from",
    "valid_to",
)
MAX_QUESTION = 500
MAX_ANSWER = 5000


class EntryContent(BaseModel):
    """What an editor writes; validated the same way for the API, imports and the sample."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    similar_questions: list[str] = Field(default_factory=list, max_length=50)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER)
    spoken_answer: str | None = Field(default=None, max_length=1000)
    category_code: str | None = Field(default=None, max_length=16)
    subcategory_code: str | None = Field(default=None, max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    keywords: list[str] = Field(default_factory=list, max_length=30)
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _check(self) -> EntryContent:
        self.similar_questions = _clean_list(self.similar_questions, MAX_QUESTION, self.question)
        self.keywords = _clean_list(self.keywords, 50, None)
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class EntryPatch(BaseModel):
    """A partial change to a draft; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    question: str | None = Field(default=None, min_length=1, max_length=MAX_QUESTION)
    similar_questions: list[str] | None = Field(default=None, max_length=50)
    answer: str | None = Field(default=None, min_length=1, max_length=MAX_ANSWER)
    spoken_answer: str | None = Field(default=None, max_length=1000)
    category_code: str | None = Field(default=None, max_length=16)
    subcategory_code: str | None = Field(default=None, max_length=16)
    unit_code: str | None = Field(default=None, max_length=32)
    keywords: list[str] | None = Field(default=None, max_length=30)
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None


def _clean_list(items: list[str], limit: int, exclude: str | None) -> list[str]:
    cleaned: list[str] = []
    for item in (i.strip() for i in items):
        if len(item) > limit:
            raise ValueError(f"an item is longer than {limit} characters")
        if item and item != exclude and item not in cleaned:
            cleaned.append(item)
    return cleaned


def actor_name(user: StaffUser) -> str:
    return f"{user.role}:{user.username}"


def snapshot(entry: KnowledgeEntry) -> dict[str, Any]:
    """The working copy's content as JSON (timestamps as ISO text) plus its version."""
    data: dict[str, Any] = {"version": entry.version}
    for name in CONTENT_FIELDS:
        value = getattr(entry, name)
        data[name] = value.isoformat() if isinstance(value, datetime) else value
    return data


def content_of(data: dict[str, Any]) -> EntryContent:
    """Content from a snapshot (for restores)."""
    return EntryContent.model_validate({k: data.get(k) for k in CONTENT_FIELDS})


def is_valid_at(published: dict[str, Any], now: datetime) -> bool:
    """Whether a published snapshot may answer at ``now`` (its validity window)."""
    start, end = published.get("valid_from"), published.get("valid_to")
    if start and datetime.fromisoformat(start) > now:
        return False
    return not (end and datetime.fromisoformat(end) <= now)


async def create_draft(
    session: AsyncSession, *, actor: StaffUser, content: EntryContent
) -> KnowledgeEntry:
    """A new entry, version 1, in draft."""
    _require(actor, EDITORS)
    entry = KnowledgeEntry(author_id=_uid(actor), answer=content.answer, question=content.question)
    _apply(entry, content.model_dump())
    await repo.save(session, entry)
    await _record(session, entry, actor_name(actor), "created", changes="new entry")
    return entry


async def update_draft(
    session: AsyncSession, *, actor: StaffUser, entry_id: int, patch: EntryPatch
) -> KnowledgeEntry:
    """Change the working copy; a published or retired entry gets a new draft version."""
    _require(actor, EDITORS)
    entry = await repo.get(session, entry_id=entry_id, for_update=True)
    if entry.status == EntryStatus.IN_REVIEW:
        raise Conflict(f"entry {entry_id} is in review; it must be rejected before editing")
    before = snapshot(entry)
    merged = {**before, **patch.model_dump(exclude_unset=True)}
    try:
        content = content_of(merged)
    except ValueError as e:
        raise ValidationFailed(str(e)) from e
    if entry.status != EntryStatus.DRAFT:
        entry.version += 1
        entry.status = EntryStatus.DRAFT
    _apply(entry, content.model_dump())
    entry.author_id = _uid(actor)
    await _touch(session, entry)
    changed = _diff(before, snapshot(entry)) or "nothing"
    await _record(session, entry, actor_name(actor), "edited", changes=changed)
    return entry


async def submit(session: AsyncSession, *, actor: StaffUser, entry_id: int) -> KnowledgeEntry:
    """Draft → in review."""
    _require(actor, EDITORS)
    entry = await _in_state(session, entry_id, EntryStatus.DRAFT, "submit")
    entry.status, entry.reviewer_id, entry.review_comment = EntryStatus.IN_REVIEW, None, None
    await _touch(session, entry)
    await _record(session, entry, actor_name(actor), "submitted")
    return entry


async def approve(
    session: AsyncSession, *, actor: StaffUser, entry_id: int, comment: str | None = None
) -> KnowledgeEntry:
    """In review → published, by a reviewer other than the author."""
    _require(actor, EDITORS)
    entry = await _in_state(session, entry_id, EntryStatus.IN_REVIEW, "approve")
    if entry.author_id == actor.id:
        raise Forbidden("a reviewer may not approve their own changes")
    entry.reviewer_id, entry.review_comment = actor.id, comment
    await publish(session, entry, actor=actor_name(actor), action="approved", changes=comment)
    return entry


async def reject(
    session: AsyncSession, *, actor: StaffUser, entry_id: int, comment: str
) -> KnowledgeEntry:
    """In review → draft, with the reviewer's comment (required)."""
    _require(actor, EDITORS)
    if not comment.strip():
        raise ValidationFailed("comment: a rejection needs a comment for the author")
    entry = await _in_state(session, entry_id, EntryStatus.IN_REVIEW, "reject")
    if entry.author_id == actor.id:
        raise Forbidden("a reviewer may not review their own changes")
    entry.status, entry.reviewer_id = EntryStatus.DRAFT, actor.id
    entry.review_comment = comment.strip()
    await _touch(session, entry)
    await _record(session, entry, actor_name(actor), "rejected", changes=entry.review_comment)
    return entry


async def retire(
    session: AsyncSession, *, actor: StaffUser | str, entry_id: int, reason: str | None = None
) -> KnowledgeEntry:
    """Take the entry out of service (a ``str`` actor is the system, e.g. expiry)."""
    if isinstance(actor, StaffUser):
        _require(actor, EDITORS)
    entry = await repo.get(session, entry_id=entry_id, for_update=True)
    if entry.status == EntryStatus.RETIRED:
        raise Conflict(f"entry {entry_id} is already retired")
    name = actor if isinstance(actor, str) else actor_name(actor)
    await _take_down(session, entry)
    action = "expired" if isinstance(actor, str) else "retired"
    await _record(session, entry, name, action, changes=reason)
    return entry


async def restore(
    session: AsyncSession, *, actor: StaffUser, entry_id: int, version: int
) -> KnowledgeEntry:
    """A new version with the content of ``version``; published at once by a supervisor."""
    _require(actor, EDITORS)
    entry = await repo.get(session, entry_id=entry_id, for_update=True)
    if entry.status == EntryStatus.IN_REVIEW:
        raise Conflict(f"entry {entry_id} is in review; reject it before restoring")
    rows = [r for r in await repo.history(session, entry_id=entry_id) if r.version == version]
    if not rows or version == entry.version:
        raise NotFound(f"entry {entry_id} has no earlier version {version}")
    before = snapshot(entry)
    _apply(entry, content_of(rows[-1].snapshot).model_dump())
    entry.version += 1
    entry.author_id = _uid(actor)
    note = f"restored version {version}: {_diff(before, snapshot(entry)) or 'no change'}"
    if actor.role in PUBLISHERS:
        entry.reviewer_id, entry.review_comment = actor.id, None
        await publish(session, entry, actor=actor_name(actor), action="restored", changes=note)
        return entry
    entry.status = EntryStatus.IN_REVIEW
    await _touch(session, entry)
    await _record(session, entry, actor_name(actor), "restored", changes=note)
    return entry


async def publish(
    session: AsyncSession, entry: KnowledgeEntry, *, actor: str, action: str, changes: str | None
) -> None:
    """Make the working copy live and log the upsert (also used by imports and the sample)."""
    entry.status = EntryStatus.PUBLISHED
    entry.published_version = entry.version
    entry.published = snapshot(entry)
    await _touch(session, entry)
    await repo.add_change(
        session, entry_id=_eid(entry), action=ChangeAction.UPSERT, version=entry.version
    )
    await _record(session, entry, actor, action, changes=changes)


async def expire_due(session: AsyncSession, *, now: datetime | None = None) -> list[int]:
    """Retire every live entry whose published ``valid_to`` has passed; returns their ids."""
    moment = now or utcnow()
    expired = []
    for entry in await repo.live(session):
        end = (entry.published or {}).get("valid_to")
        if end and datetime.fromisoformat(end) <= moment:
            await retire(session, actor=SYSTEM, entry_id=_eid(entry), reason=f"valid_to {end}")
            expired.append(_eid(entry))
    return expired


async def _take_down(session: AsyncSession, entry: KnowledgeEntry) -> None:
    was_live = entry.published_version is not None
    entry.status, entry.published, entry.published_version = EntryStatus.RETIRED, None, None
    await _touch(session, entry)
    if was_live:
        await repo.add_change(
            session, entry_id=_eid(entry), action=ChangeAction.REMOVE, version=entry.version
        )


async def _in_state(
    session: AsyncSession, entry_id: int, wanted: EntryStatus, verb: str
) -> KnowledgeEntry:
    entry = await repo.get(session, entry_id=entry_id, for_update=True)
    if entry.status != wanted:
        raise Conflict(f"cannot {verb} entry {entry_id}: it is {entry.status}, not {wanted}")
    return entry


async def _record(
    session: AsyncSession,
    entry: KnowledgeEntry,
    actor: str,
    action: str,
    *,
    changes: str | None = None,
) -> None:
    row = KnowledgeVersion(
        entry_id=_eid(entry),
        version=entry.version,
        action=action,
        snapshot=snapshot(entry),
        actor=actor,
        changes=changes,
    )
    await repo.add_version(session, row)


async def _touch(session: AsyncSession, entry: KnowledgeEntry) -> None:
    entry.updated_at = utcnow()
    await repo.save(session, entry)


def _apply(entry: KnowledgeEntry, content: dict[str, Any]) -> None:
    for name in CONTENT_FIELDS:
        setattr(entry, name, content[name])


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    return ", ".join(name for name in CONTENT_FIELDS if before.get(name) != after.get(name))


def _require(actor: StaffUser, roles: tuple[Role, ...]) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this action needs one of the roles: {', '.join(roles)}")


def _uid(user: StaffUser) -> int:
    if user.id is None:
        raise RuntimeError("staff user has no id")
    return user.id


def _eid(entry: KnowledgeEntry) -> int:
    if entry.id is None:
        raise RuntimeError("entry has no id before flush")
    return entry.id
