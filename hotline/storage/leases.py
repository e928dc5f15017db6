"""Leasing due rows of an outbox table to one worker at a time.

The dispatch outbox, the citizen push outbox and the satisfaction callbacks share one pattern.
A worker *claims* a batch of due rows in one statement (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never claim the same row; SQLite's ``BEGIN IMMEDIATE`` serialises
the claims), writing its name and a lease time on them and counting the attempt. It then does
the slow part outside any transaction and stores each outcome only while it still holds the
lease: a worker that died, or was too slow, leaves the row to whoever leases it next.

The table needs ``id``, ``status``, ``attempts``, ``next_attempt_at``, ``locked_by`` and
``locked_until`` columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Update, case, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from hotline.storage.types import utcnow

Row = TypeVar("Row", bound=SQLModel)
RELEASED: dict[str, Any] = {"locked_by": None, "locked_until": None}


@dataclass(frozen=True)
class Lease(Generic[Row]):
    """Claims, renews and settles rows of ``model`` in the name of ``holder``."""

    model: type[Row]
    holder: str
    seconds: float
    #: the status of rows waiting for a worker
    pending: str = "pending"
    #: whether leasing a row again after a lease that ran out unsettled (its worker died or
    #: lost it) counts another attempt: yes where the slow part may have happened all the same
    #: (a push sent just before the worker died); no where an attempt only counts once its
    #: outcome is stored (a callback's question is written in the transaction that settles it)
    count_lapsed: bool = True

    async def claim(
        self,
        session: AsyncSession,
        *,
        limit: int,
        where: Sequence[ColumnElement[bool]] = (),
        now: datetime | None = None,
    ) -> list[Row]:
        """Lease up to ``limit`` due rows (oldest due first) and return them by id."""
        m: Any = self.model
        now = now or utcnow()
        due = (
            select(col(m.id))
            .where(m.status == self.pending)
            .where(*where)
            .where(col(m.next_attempt_at) <= now)
            .where(col(m.locked_until).is_(None) | (col(m.locked_until) < now))
            .order_by(col(m.next_attempt_at), col(m.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(m)
            .where(col(m.id).in_(due.scalar_subquery()))
            .values(
                locked_by=self.holder,
                locked_until=now + timedelta(seconds=self.seconds),
                attempts=col(m.attempts) + self._attempt(),
            )
            .returning(m)
            .execution_options(synchronize_session=False)
        )
        rows = (await session.execute(statement)).scalars()
        return sorted(rows, key=lambda row: row.id or 0)

    async def renew(self, session: AsyncSession, ids: Iterable[int | None]) -> set[int]:
        """Extend the lease on those of ``ids`` this worker still holds; returns them."""
        m: Any = self.model
        statement = (
            update(m)
            .where(col(m.id).in_(list(ids)) & self._held() & (m.status == self.pending))
            .values(locked_until=utcnow() + timedelta(seconds=self.seconds))
            .returning(col(m.id))
            .execution_options(synchronize_session=False)
        )
        return set((await session.execute(statement)).scalars())

    async def settle(
        self, session: AsyncSession, ids: Iterable[int | None], **values: Any
    ) -> list[int]:
        """Release the rows of ``ids`` this worker still holds, storing ``values``; returns the
        ids stored (an id missing from it went to another worker when the lease ran out)."""
        ids = list(ids)
        if not ids:
            return []
        return list((await session.execute(self._settle(ids, values))).scalars())

    def _settle(self, ids: list[int | None], values: dict[str, Any]) -> Update:
        m: Any = self.model
        return (
            update(m)
            .where(col(m.id).in_(ids) & self._held())
            .values(**RELEASED, **values)
            .returning(col(m.id))
            .execution_options(synchronize_session=False)
        )

    def _attempt(self) -> Any:
        if self.count_lapsed:
            return 1
        # a due row still names a holder only when that holder's lease ran out unsettled
        return case((col(self.model.locked_by).is_(None), 1), else_=0)  # type: ignore[attr-defined]

    def _held(self) -> ColumnElement[bool]:
        return col(self.model.locked_by) == self.holder  # type: ignore[attr-defined]
