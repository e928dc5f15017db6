"""The query of ``GET requests``: ids, service codes, a date window and open/closed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.channels.open311.render import CLOSED
from hotline.errors import BadRequest
from hotline.storage.models import TicketStatus
from hotline.storage.repos.open311 import RequestFilter

_ID = re.compile(r"^\d{1,20}$")
_OPEN = tuple(s for s in TicketStatus if s not in CLOSED)
_STATUSES = {"open": _OPEN, "closed": tuple(CLOSED)}


def parse_filters(
    query: Mapping[str, str],
    *,
    now: datetime,
    timezone: str,
    window_days: int,
    limit: int,
    visible: RequestFilter,
) -> RequestFilter:
    """The specification's filters on top of ``visible`` (which tickets may be published).

    ``service_request_id`` overrides all the other filters.
    """
    ids = _list(query, "service_request_id")
    if ids is not None:
        bad = [value for value in ids if not _ID.match(value)]
        if bad:
            raise BadRequest(f"service_request_id: not a request id: {bad[0]!r}")
        return replace(visible, numbers=ids[:limit], limit=limit)
    start, end = _window(query, now=now, timezone=timezone, days=window_days)
    return replace(
        visible,
        subcategory_codes=_list(query, "service_code"),
        statuses=_statuses(query),
        start=start,
        end=end,
        limit=limit,
    )


def parse_datetime(value: str, *, name: str, timezone: str) -> datetime:
    """ISO 8601; without an offset the time is read in the jurisdiction's time zone."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as e:
        raise BadRequest(f"{name}: not an ISO 8601 date-time: {value!r}") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
    return parsed


def _window(
    query: Mapping[str, str], *, now: datetime, timezone: str, days: int
) -> tuple[datetime, datetime]:
    raw_start, raw_end = query.get("start_date"), query.get("end_date")
    span = timedelta(days=days)
    end = parse_datetime(raw_end, name="end_date", timezone=timezone) if raw_end else None
    start = parse_datetime(raw_start, name="start_date", timezone=timezone) if raw_start else None
    if start is None:
        end = end or now
        start = end - span
    elif end is None:
        end = max(now, start)
    if end < start:
        raise BadRequest("end_date: earlier than start_date")
    if end - start > span:
        raise BadRequest(f"start_date, end_date: may not span more than {days} days")
    return start, end


def _statuses(query: Mapping[str, str]) -> tuple[TicketStatus, ...] | None:
    names = _list(query, "status")
    if names is None:
        return None
    unknown = [name for name in names if name not in _STATUSES]
    if unknown:
        raise BadRequest(f"status: open or closed, not {unknown[0]!r}")
    return tuple(status for name in set(names) for status in _STATUSES[name])


def _list(query: Mapping[str, str], name: str) -> list[str] | None:
    """A comma-separated parameter; absent or blank means no filter."""
    raw = query.get(name, "")
    values = [part.strip() for part in raw.split(",") if part.strip()]
    return values or None
