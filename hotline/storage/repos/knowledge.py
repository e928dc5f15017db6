"""Knowledge entries, their history, the change log, the answer log and the gaps."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import NotFound
from hotline.storage.models import (
    ChangeAction,
    EntryStatus,
    GapStatus,
    KnowledgeAnswerLog,
    KnowledgeChange,
    KnowledgeEntry,
    KnowledgeGap,
    KnowledgeVersion,
)

# Any constant works; it only has to be the same in every process writing the change log.
_CHANGE_LOG_LOCK = 0x4B42_0001


async def get(session: AsyncSession, *, entry_id: int, for_update: bool = False) -> KnowledgeEntry:
    """The entry, or :class:`NotFound`; ``for_update`` locks its row on PostgreSQL."""
    statement = select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id)
    if for_update:
        statement = statement.with_for_update()
    entry = (await session.execute(statement)).scalars().first()
    if entry is None:
        raise NotFound(f"knowledge entry {entry_id} does not exist")
    return entry


async def save(session: AsyncSession, entry: KnowledgeEntry) -> KnowledgeEntry:
    session.add(entry)
    await session.flush()
    return entry


async def add_version(session: AsyncSession, row: KnowledgeVersion) -> KnowledgeVersion:
    session.add(row)
    await session.flush()
    return row


async def history(session: AsyncSession, *, entry_id: int) -> list[KnowledgeVersion]:
    """Every line of the entry's history, oldest first."""
    statement = (
        select(KnowledgeVersion)
        .where(KnowledgeVersion.entry_id == entry_id)
        .order_by(col(KnowledgeVersion.id))
    )
    return list((await session.execute(statement)).scalars())


async def add_change(
    session: AsyncSession, *, entry_id: int, action: ChangeAction, version: int
) -> KnowledgeChange:
    """Append to the change log so that ``seq`` order is also commit order.

    On PostgreSQL a sequence value is drawn at insert time but becomes visible at commit, so
    two concurrent publishers could commit seq 8 before seq 7 and a poller that already read 8
    would skip 7 for ever. A transaction-scoped advisory lock taken before the insert makes
    change-log writers queue until the previous one commits. SQLite already serialises writers
    (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_CHANGE_LOG_LOCK})"))
    change = KnowledgeChange(entry_id=entry_id, action=action, version=version)
    session.add(change)
    await session.flush()
    return change


async def changes_after(
    session: AsyncSession, *, seq: int, limit: int = 1000
) -> list[KnowledgeChange]:
    statement = (
        select(KnowledgeChange)
        .where(col(KnowledgeChange.seq) > seq)
        .order_by(col(KnowledgeChange.seq))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def last_seq(session: AsyncSession) -> int:
    value = (await session.execute(select(func.max(KnowledgeChange.seq)))).scalar_one()
    return int(value or 0)


async def live(session: AsyncSession, *, ids: Iterable[int] | None = None) -> list[KnowledgeEntry]:
    """Entries with a published version (all of them, or those in ``ids``)."""
    statement = select(KnowledgeEntry).where(col(KnowledgeEntry.published_version).is_not(None))
    if ids is not None:
        statement = statement.where(col(KnowledgeEntry.id).in_(list(ids)))
    return list((await session.execute(statement.order_by(col(KnowledgeEntry.id)))).scalars())


@dataclass(frozen=True)
class EntryFilter:
    status: EntryStatus | None = None
    text: str | None = None
    live_only: bool = False
    limit: int = 50
    offset: int = 0


async def search(session: AsyncSession, *, where: EntryFilter) -> tuple[list[KnowledgeEntry], int]:
    """Entries matching ``where``, most recently changed first, and the total count."""
    statement = select(KnowledgeEntry)
    if where.status is not None:
        statement = statement.where(KnowledgeEntry.status == where.status)
    if where.live_only:
        statement = statement.where(col(KnowledgeEntry.published_version).is_not(None))
    if where.text:
        pattern = f"%{where.text}%"
        statement = statement.where(
            or_(
                col(KnowledgeEntry.question).like(pattern), col(KnowledgeEntry.answer).like(pattern)
            )
        )
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    page = (
        statement.order_by(col(KnowledgeEntry.updated_at).desc(), col(KnowledgeEntry.id).desc())
        .limit(where.limit)
        .offset(where.offset)
    )
    return list((await session.execute(page)).scalars()), int(total)


async def all_entries(session: AsyncSession) -> list[KnowledgeEntry]:
    statement = select(KnowledgeEntry).order_by(col(KnowledgeEntry.id))
    return list((await session.execute(statement)).scalars())


async def known_questions(
    session: AsyncSession, *, include_retired: bool = False
) -> dict[str, int]:
    """Standard and similar questions of every entry (not retired), mapped to the entry id."""
    statement = select(KnowledgeEntry)
    if not include_retired:
        statement = statement.where(KnowledgeEntry.status != EntryStatus.RETIRED)
    known: dict[str, int] = {}
    for entry in (await session.execute(statement)).scalars():
        for question in (entry.question, *entry.similar_questions):
            known.setdefault(question.strip(), entry.id or 0)
    return known


async def log_answer(session: AsyncSession, row: KnowledgeAnswerLog) -> KnowledgeAnswerLog:
    session.add(row)
    await session.flush()
    return row


async def open_gaps(session: AsyncSession, *, limit: int = 2000) -> list[KnowledgeGap]:
    """The most recently seen open gap groups (the candidates a new question can join)."""
    statement = (
        select(KnowledgeGap)
        .where(KnowledgeGap.status == GapStatus.OPEN)
        .order_by(col(KnowledgeGap.last_seen).desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def gaps_by_frequency(
    session: AsyncSession, *, status: GapStatus | None, limit: int, offset: int = 0
) -> list[KnowledgeGap]:
    statement = select(KnowledgeGap)
    if status is not None:
        statement = statement.where(KnowledgeGap.status == status)
    statement = statement.order_by(
        col(KnowledgeGap.count).desc(), col(KnowledgeGap.last_seen).desc()
    )
    return list((await session.execute(statement.limit(limit).offset(offset))).scalars())


async def get_gap(session: AsyncSession, *, gap_id: int, for_update: bool = False) -> KnowledgeGap:
    statement = select(KnowledgeGap).where(KnowledgeGap.id == gap_id)
    if for_update:
        statement = statement.with_for_update()
    gap = (await session.execute(statement)).scalars().first()
    if gap is None:
        raise NotFound(f"knowledge gap {gap_id} does not exist")
    return gap
