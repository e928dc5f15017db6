"""Shared helpers for the knowledge-base storage, workflow, sync and API tests."""

from __future__ import annotations

from typing import Any

from hotline.knowledge.workflow import EntryContent, approve, create_draft, submit
from hotline.storage.db import Database
from hotline.storage.models import KnowledgeEntry, Role, StaffUser
from hotline.storage.repos import staff

USERS = {
    "editor": Role.EDITOR,
    "reviewer": Role.EDITOR,
    "supervisor": Role.SUPERVISOR,
    "agent": Role.AGENT,
    "admin": Role.ADMIN,
}


async def make_users(database: Database) -> dict[str, StaffUser]:
    """One staff user per name in :data:`USERS` (password hash is irrelevant here)."""
    made = {}
    async with database.session() as session:
        for name, role in USERS.items():
            made[name] = await staff.create(
                session, username=name, display_name=name, password_hash="x", role=role
            )
    return made


def content(
    question: str, answer: str = "请携带身份证到政务服务中心办理。", **extra: Any
) -> EntryContent:
    return EntryContent(question=question, answer=answer, **extra)


async def published_entry(
    database: Database, users: dict[str, StaffUser], question: str, **extra: Any
) -> KnowledgeEntry:
    """Create, submit and approve an entry (editor writes, reviewer approves)."""
    async with database.session() as session:
        entry = await create_draft(
            session, actor=users["editor"], content=content(question, **extra)
        )
        await submit(session, actor=users["editor"], entry_id=entry.id or 0)
        return await approve(session, actor=users["reviewer"], entry_id=entry.id or 0)
