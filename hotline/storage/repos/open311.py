"""Open311 client keys, and the tickets the GeoReport API publishes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import Conflict, NotFound
from hotline.storage.models import Open311Key, Ticket, TicketStatus, Unit
from hotline.storage.types import utcnow


def key_digest(key: str) -> str:
    """Only this digest is stored, so a database dump does not hand out working keys."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, *, name: str) -> tuple[Open311Key, str]:
    """A new random key for client ``name``: the row, and the key itself (shown once)."""
    existing = await session.execute(select(Open311Key).where(Open311Key.name == name))
    if existing.scalars().first() is not None:
        raise Conflict(f"an Open311 key named {name!r} already exists; revoke it or pick a name")
    key = secrets.token_urlsafe(32)
    row = Open311Key(name=name, key_hash=key_digest(key))
    session.add(row)
    await session.flush()
    return row, key


async def list_keys(session: AsyncSession) -> list[Open311Key]:
    """Every key, revoked ones included, oldest first."""
    result = await session.execute(select(Open311Key).order_by(col(Open311Key.id)))
    return list(result.scalars())


async def revoke_key(session: AsyncSession, *, name: str) -> Open311Key:
    """Revoke the key named ``name`` (idempotent), or :class:`NotFound`."""
    result = await session.execute(select(Open311Key).where(Open311Key.name == name))
    row = result.scalars().first()
    if row is None:
        raise NotFound(f"no Open311 key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        await session.flush()
    return row


async def client_for_key(session: AsyncSession, *, key: str) -> str | None:
    """The name of the live key equal to ``key``, or ``None``.

    Every live digest is compared with ``compare_digest`` and the loop never stops early, so
    the time taken says nothing about which key, or how much of one, matched.
    """
    given = key_digest(key).encode()
    result = await session.execute(select(Open311Key).where(col(Open311Key.revoked_at).is_(None)))
    found: str | None = None
    for row in result.scalars():
        if secrets.compare_digest(row.key_hash.encode(), given):
            found = row.name
    return found


@dataclass(frozen=True)
class RequestFilter:
    """Which tickets ``GET requests`` returns; ``None`` means no restriction."""

    numbers: Sequence[str] | None = None
    subcategory_codes: Sequence[str] | None = None
    statuses: Sequence[TicketStatus] | None = None
    start: datetime | None = None
    end: datetime | None = None
    #: only tickets from these channels or in these subcategories; ``None`` for both: all
    visible_channels: Sequence[str] | None = None
    visible_subcategories: Sequence[str] | None = None
    limit: int = 1000


async def search_requests(
    session: AsyncSession, *, where: RequestFilter
) -> list[tuple[Ticket, str | None]]:
    """Matching tickets with their unit's name, newest first."""
    statement = select(Ticket, Unit.name).outerjoin(Unit, col(Unit.id) == col(Ticket.unit_id))
    if where.numbers is not None:
        statement = statement.where(col(Ticket.number).in_(where.numbers))
    if where.subcategory_codes is not None:
        statement = statement.where(col(Ticket.subcategory_code).in_(where.subcategory_codes))
    if where.statuses is not None:
        statement = statement.where(col(Ticket.status).in_(where.statuses))
    if where.start is not None:
        statement = statement.where(col(Ticket.created_at) >= where.start)
    if where.end is not None:
        statement = statement.where(col(Ticket.created_at) <= where.end)
    visible = []
    if where.visible_channels is not None:
        visible.append(col(Ticket.channel).in_(where.visible_channels))
    if where.visible_subcategories is not None:
        visible.append(col(Ticket.subcategory_code).in_(where.visible_subcategories))
    if visible:
        statement = statement.where(or_(*visible))
    statement = statement.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
    rows = await session.execute(statement.limit(where.limit))
    return [(ticket, unit_name) for ticket, unit_name in rows.all()]
