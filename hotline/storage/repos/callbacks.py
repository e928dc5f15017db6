"""Satisfaction callbacks (see :mod:`hotline.storage.models.callbacks`) for the staff API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.storage.models import CallbackStatus, Rating, SatisfactionCallback, Ticket


@dataclass(frozen=True)
class CallbackFilter:
    status: CallbackStatus | None = None
    rating: Rating | None = None
    #: the unit that resolved the matter
    unit_id: int | None = None
    ticket_id: int | None = None
    limit: int = 50
    offset: int = 0


async def search(
    session: AsyncSession, *, where: CallbackFilter
) -> tuple[list[tuple[SatisfactionCallback, str]], int]:
    """Callbacks with their ticket's number, most recently changed first, and the total."""
    statement = select(SatisfactionCallback, Ticket.number).join(
        Ticket, col(Ticket.id) == col(SatisfactionCallback.ticket_id)
    )
    if where.status is not None:
        statement = statement.where(SatisfactionCallback.status == where.status)
    if where.rating is not None:
        statement = statement.where(SatisfactionCallback.rating == where.rating)
    if where.unit_id is not None:
        statement = statement.where(SatisfactionCallback.unit_id == where.unit_id)
    if where.ticket_id is not None:
        statement = statement.where(SatisfactionCallback.ticket_id == where.ticket_id)
    total = (
        await session.execute(select(func.count()).select_from(statement.subquery()))
    ).scalar_one()
    page = (
        statement.order_by(
            col(SatisfactionCallback.updated_at).desc(), col(SatisfactionCallback.id).desc()
        )
        .limit(where.limit)
        .offset(where.offset)
    )
    rows = [(callback, number) for callback, number in (await session.execute(page)).all()]
    return rows, int(total)
