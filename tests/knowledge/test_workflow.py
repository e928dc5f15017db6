from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import inspect
from sqlmodel import SQLModel

from hotline.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hotline.knowledge import workflow as wf
from hotline.storage.db import Database
from hotline.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from hotline.storage.models import (
    ChangeAction,
    EntryStatus,
    KnowledgeChange,
    KnowledgeEntry,
    KnowledgeVersion,
)
from hotline.storage.repos import knowledge as repo
from hotline.storage.types import utcnow
from tests.knowledge.kb_helpers import content, make_users, published_entry

KB_TABLES = {
    "knowledge_entry",
    "knowledge_version",
    "knowledge_change",
    "knowledge_answer_log",
    "knowledge_gap",
}


async def _changes(database: Database) -> list[tuple[int, str, int]]:
    async with database.session() as session:
        rows = await repo.changes_after(session, seq=0)
    return [(c.entry_id, c.action, c.version) for c in rows]


async def _actions(database: Database, entry_id: int) -> list[tuple[str, int, str]]:
    async with database.session() as session:
        rows = await repo.history(session, entry_id=entry_id)
    return [(r.action, r.version, r.actor) for r in rows]


async def _entry(database: Database, entry_id: int) -> KnowledgeEntry:
    async with database.session() as session:
        return await repo.get(session, entry_id=entry_id)


async def test_draft_review_publish_records_history_and_change_log(database: Database) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "社保卡丢了怎么补办？")
    assert entry.status == EntryStatus.PUBLISHED
    assert entry.published_version == 1
    assert entry.published is not None
    assert entry.published["question"] == "社保卡丢了怎么补办？"
    assert entry.reviewer_id == users["reviewer"].id
    assert await _actions(database, entry.id or 0) == [
        ("created", 1, "editor:editor"),
        ("submitted", 1, "editor:editor"),
        ("approved", 1, "editor:reviewer"),
    ]
    assert await _changes(database) == [(entry.id, ChangeAction.UPSERT, 1)]


async def test_author_cannot_approve_and_agent_cannot_write(database: Database) -> None:
    users = await make_users(database)
    async with database.session() as session:
        entry = await wf.create_draft(session, actor=users["editor"], content=content("问题一"))
        await wf.submit(session, actor=users["editor"], entry_id=entry.id or 0)
    with pytest.raises(Forbidden, match="own"):
        async with database.session() as session:
            await wf.approve(session, actor=users["editor"], entry_id=entry.id or 0)
    with pytest.raises(Forbidden, match="roles"):
        async with database.session() as session:
            await wf.create_draft(session, actor=users["agent"], content=content("问题二"))
    assert (await _entry(database, entry.id or 0)).status == EntryStatus.IN_REVIEW
    async with database.session() as session:
        assert (await repo.search(session, where=repo.EntryFilter()))[1] == 1
    assert await _changes(database) == []


async def test_editing_a_published_entry_keeps_the_old_version_live(database: Database) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "公积金怎么提取？")
    entry_id = entry.id or 0
    async with database.session() as session:
        patch = wf.EntryPatch(answer="新的办理流程。", keywords=["公积金"])
        edited = await wf.update_draft(
            session, actor=users["reviewer"], entry_id=entry_id, patch=patch
        )
    assert (edited.status, edited.version, edited.published_version) == ("draft", 2, 1)
    assert edited.published is not None
    assert edited.published["answer"] != "新的办理流程。"
    assert edited.author_id == users["reviewer"].id
    async with database.session() as session:
        await wf.submit(session, actor=users["reviewer"], entry_id=entry_id)
        done = await wf.approve(session, actor=users["editor"], entry_id=entry_id)
    assert done.published is not None
    assert done.published["answer"] == "新的办理流程。"
    assert done.published_version == 2
    history = await _actions(database, entry_id)
    assert history[3] == ("edited", 2, "editor:reviewer")
    async with database.session() as session:
        rows = await repo.history(session, entry_id=entry_id)
    assert rows[3].changes == "answer, keywords"
    assert [c[2] for c in await _changes(database)] == [1, 2]


async def test_reject_needs_a_comment_and_returns_to_draft(database: Database) -> None:
    users = await make_users(database)
    async with database.session() as session:
        entry = await wf.create_draft(session, actor=users["editor"], content=content("问题"))
        await wf.submit(session, actor=users["editor"], entry_id=entry.id or 0)
    with pytest.raises(ValidationFailed, match="comment"):
        async with database.session() as session:
            await wf.reject(session, actor=users["reviewer"], entry_id=entry.id or 0, comment=" ")
    async with database.session() as session:
        back = await wf.reject(
            session, actor=users["reviewer"], entry_id=entry.id or 0, comment="答案缺少办理地点"
        )
    assert (back.status, back.review_comment) == ("draft", "答案缺少办理地点")
    assert await _changes(database) == []


@pytest.mark.parametrize(
    ("step", "message"),
    [("approve", "cannot approve"), ("reject", "cannot reject"), ("twice", "cannot submit")],
)
async def test_wrong_transitions_conflict(database: Database, step: str, message: str) -> None:
    users = await make_users(database)
    async with database.session() as session:
        entry = await wf.create_draft(session, actor=users["editor"], content=content("问题"))
    entry_id = entry.id or 0
    if step == "twice":
        async with database.session() as session:
            await wf.submit(session, actor=users["editor"], entry_id=entry_id)
    with pytest.raises(Conflict, match=message):
        await _attempt(database, users, step, entry_id)
    expected = EntryStatus.IN_REVIEW if step == "twice" else EntryStatus.DRAFT
    assert (await _entry(database, entry_id)).status == expected


async def _attempt(database: Database, users: dict[str, Any], step: str, entry_id: int) -> None:
    async with database.session() as session:
        if step == "approve":
            await wf.approve(session, actor=users["reviewer"], entry_id=entry_id)
        elif step == "reject":
            await wf.reject(session, actor=users["reviewer"], entry_id=entry_id, comment="x")
        else:
            await wf.submit(session, actor=users["editor"], entry_id=entry_id)


async def test_in_review_cannot_be_edited_and_unknown_ids_are_not_found(database: Database) -> None:
    users = await make_users(database)
    async with database.session() as session:
        entry = await wf.create_draft(session, actor=users["editor"], content=content("问题"))
        await wf.submit(session, actor=users["editor"], entry_id=entry.id or 0)
    with pytest.raises(Conflict, match="in review"):
        async with database.session() as session:
            await wf.update_draft(
                session,
                actor=users["editor"],
                entry_id=entry.id or 0,
                patch=wf.EntryPatch(answer="x"),
            )
    with pytest.raises(NotFound):
        async with database.session() as session:
            await wf.submit(session, actor=users["editor"], entry_id=9999)


async def test_retire_removes_once(database: Database) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "居住证怎么办理？")
    async with database.session() as session:
        draft = await wf.create_draft(session, actor=users["editor"], content=content("草稿"))
        retired = await wf.retire(session, actor=users["editor"], entry_id=entry.id or 0)
        await wf.retire(session, actor=users["editor"], entry_id=draft.id or 0)
    assert (retired.status, retired.published, retired.published_version) == ("retired", None, None)
    with pytest.raises(Conflict, match="already retired"):
        async with database.session() as session:
            await wf.retire(session, actor=users["editor"], entry_id=entry.id or 0)
    assert await _changes(database) == [
        (entry.id, ChangeAction.UPSERT, 1),
        (entry.id, ChangeAction.REMOVE, 1),
    ]


async def test_restore_goes_to_review_for_editors_and_live_for_supervisors(
    database: Database,
) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "失业金怎么领？", answer="旧答案。")
    entry_id = entry.id or 0
    async with database.session() as session:
        await wf.update_draft(
            session,
            actor=users["editor"],
            entry_id=entry_id,
            patch=wf.EntryPatch(answer="错答案。"),
        )
        await wf.submit(session, actor=users["editor"], entry_id=entry_id)
        await wf.approve(session, actor=users["reviewer"], entry_id=entry_id)
        by_editor = await wf.restore(session, actor=users["editor"], entry_id=entry_id, version=1)
    assert (by_editor.status, by_editor.version, by_editor.answer) == ("in_review", 3, "旧答案。")
    assert by_editor.published is not None
    assert by_editor.published["answer"] == "错答案。"
    async with database.session() as session:
        await wf.reject(session, actor=users["reviewer"], entry_id=entry_id, comment="改用主管回滚")
    with pytest.raises(NotFound):
        async with database.session() as session:
            await wf.restore(session, actor=users["supervisor"], entry_id=entry_id, version=7)
    async with database.session() as session:
        live = await wf.restore(session, actor=users["supervisor"], entry_id=entry_id, version=1)
    assert (live.status, live.version, live.published_version) == ("published", 4, 4)
    assert live.published is not None
    assert live.published["answer"] == "旧答案。"
    assert (await _actions(database, entry_id))[-1] == ("restored", 4, "supervisor:supervisor")


async def test_expired_entries_are_retired_by_the_expiry_job(database: Database) -> None:
    users = await make_users(database)
    now = utcnow()
    old = await published_entry(
        database,
        users,
        "旧政策",
        valid_from=now - timedelta(days=10),
        valid_to=now + timedelta(days=1),
    )
    current = await published_entry(database, users, "现行政策")
    assert old.published is not None
    assert wf.is_valid_at(old.published, now)
    assert not wf.is_valid_at(old.published, now + timedelta(days=2))
    assert not wf.is_valid_at(old.published, now - timedelta(days=11))
    async with database.session() as session:
        expired = await wf.expire_due(session, now=now + timedelta(days=2))
    assert expired == [old.id]
    assert (await _entry(database, current.id or 0)).status == EntryStatus.PUBLISHED
    assert (await _actions(database, old.id or 0))[-1] == ("expired", 1, "system")


def test_content_validation() -> None:
    now = utcnow()
    with pytest.raises(ValidationError, match="valid_to"):
        content("问", valid_from=now, valid_to=now - timedelta(hours=1))
    with pytest.raises(ValidationError, match="question"):
        content(" ")
    cleaned = content("问", similar_questions=["问", " 另一问 ", "另一问", ""])
    assert cleaned.similar_questions == ["另一问"]


@pytest.mark.parametrize("model", [KnowledgeVersion, KnowledgeChange])
async def test_history_and_change_log_are_append_only(database: Database, model: Any) -> None:
    users = await make_users(database)
    entry = await published_entry(database, users, "问题")
    key = "id" if model is KnowledgeVersion else "seq"
    async with database.session() as session:
        rows = (
            (await repo.history(session, entry_id=entry.id or 0))
            if key == "id"
            else (await repo.changes_after(session, seq=0))
        )
    row_id = getattr(rows[0], key)

    async def rewrite() -> None:
        async with database.session() as session:
            row = await session.get(model, row_id)
            assert row is not None
            row.version = 99
            session.add(row)

    async def delete() -> None:
        async with database.session() as session:
            await session.delete(await session.get(model, row_id))

    for attempt in (rewrite, delete):
        with pytest.raises(Exception, match="append-only"):
            await attempt()


async def test_knowledge_models_match_migration_and_downgrade_cleanly(database: Database) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    def tables(connection: Any) -> set[str]:
        return set(inspect(connection).get_table_names())

    def downgrade(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert [d for d in differences if any(t in str(d) for t in KB_TABLES)] == []
    async with database.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await current_revision(database) == "0001"
    async with database.engine.connect() as connection:
        assert not (await connection.run_sync(tables)) & KB_TABLES
    await upgrade(database)
    assert await current_revision(database) == head_revision()
    users = await make_users(database)
    await published_entry(database, users, "升级后仍可写入")
