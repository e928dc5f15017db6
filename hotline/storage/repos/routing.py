"""Stored routing rule sets: the newest version, the history, and an append on a known base."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import Conflict, NotFound
from hotline.storage.models import RoutingRuleSet


async def newest_version(session: AsyncSession) -> int:
    """The version in force, 0 while none is stored (the rules file is then in force)."""
    result = await session.execute(select(func.max(col(RoutingRuleSet.version))))
    return int(result.scalar_one_or_none() or 0)


async def get(session: AsyncSession, *, version: int) -> RoutingRuleSet:
    """One stored version, or :class:`NotFound`."""
    result = await session.execute(select(RoutingRuleSet).where(RoutingRuleSet.version == version))
    row = result.scalars().first()
    if row is None:
        raise NotFound(f"routing rules version {version} does not exist")
    return row


async def newest(session: AsyncSession) -> RoutingRuleSet | None:
    """The stored version in force, or None while the rules file is."""
    version = await newest_version(session)
    return await get(session, version=version) if version else None


async def history(session: AsyncSession, *, limit: int, offset: int) -> list[RoutingRuleSet]:
    """Stored versions, newest first."""
    query = (
        select(RoutingRuleSet)
        .order_by(col(RoutingRuleSet.version).desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def add(
    session: AsyncSession,
    *,
    document: str,
    base_version: int,
    author: str,
    comment: str | None = None,
) -> RoutingRuleSet:
    """Store ``document`` as ``base_version + 1``; :class:`Conflict` unless the base is newest.

    The unique version makes this safe between processes: of two saves on the same base, the
    one committing second fails on the constraint (PostgreSQL) or sees the new newest version
    (SQLite, whose writers queue).
    """
    current = await newest_version(session)
    if base_version != current:
        raise Conflict(_stale(base_version, current), code="stale_version")
    row = RoutingRuleSet(
        version=base_version + 1, document=document, author=author, comment=comment
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(_stale(base_version, base_version + 1), code="stale_version") from exc
    return row


def _stale(base: int, current: int) -> str:
    return (
        f"the rules were changed meanwhile: version {current} is in force, the edit is based on "
        f"version {base}; reload, reapply the change and save again"
    )
