"""Which requests are rising (诉求趋势): this week's tickets against the weeks before.

For each category (or subcategory, or area), the tickets created in the last ``days`` are set
against the average of the ``weeks`` windows of the same length before them. A count is
*rising* when it is at least ``min_count`` and stands ``z`` Poisson standard deviations above
that average (z = (current − baseline) / √max(baseline, 1)): a jump from 1 to 3 is noise, from
20 to 45 is a story. Merged reports count (more citizens reporting the same matter is the
signal); cancelled requests do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.errors import NotFound
from hotline.storage.models import Ticket, TicketStatus

TrendBy = Literal["category", "subcategory", "area"]


@dataclass(frozen=True)
class Trend:
    key: str
    name: str
    current: int
    #: tickets per window, on average over the earlier windows
    baseline: float
    z: float
    rising: bool

    @property
    def change(self) -> float | None:
        return round(self.current / self.baseline - 1, 4) if self.baseline else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "change": self.change}


async def trends(
    session: AsyncSession,
    *,
    now: datetime,
    by: TrendBy = "category",
    days: int = 7,
    weeks: int = 4,
    min_count: int = 5,
    z_rising: float = 2.0,
    name: Callable[[str], str] = str,
) -> list[Trend]:
    """Every key with tickets in the period, the most unusual rise first."""
    window = timedelta(days=days)
    start = now - window
    key = {
        "category": col(Ticket.category_code),
        "subcategory": col(Ticket.subcategory_code),
        "area": col(Ticket.area),
    }[by]
    current = func.sum(case((col(Ticket.created_at) >= start, 1), else_=0))
    statement = (
        select(key, current, func.count())
        .where(col(Ticket.created_at) >= start - window * weeks)
        .where(col(Ticket.created_at) < now)
        .where(col(Ticket.status) != TicketStatus.CANCELLED)
        .group_by(key)
    )
    found = []
    for raw_key, recent, total in (await session.execute(statement)).all():
        now_count = int(recent or 0)
        baseline = (int(total) - now_count) / weeks
        z = (now_count - baseline) / math.sqrt(max(baseline, 1.0))
        code = raw_key or "-"
        found.append(
            Trend(
                key=code,
                name=_name(code, name) if raw_key else "（未分类）",
                current=now_count,
                baseline=round(baseline, 2),
                z=round(z, 2),
                rising=now_count >= min_count and z >= z_rising,
            )
        )
    return sorted(found, key=lambda t: (-t.z, -t.current, t.key))


def _name(code: str, name: Callable[[str], str]) -> str:
    try:
        return name(code)
    except NotFound:
        return code
