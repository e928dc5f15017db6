"""The official Chinese working calendar (holidays and 调休 make-up days) and office hours.

Each year has one source (:meth:`WorkCalendar.source_of`):

* ``override``: the year is in the override file, which corrects or extends the package: its
  dates win over the package's, and a year the package does not cover is defined by the file
  alone (weekdays work unless listed as holidays, weekends rest unless listed as workdays);
* ``library``: the ``chinese-calendar`` package (State Council notices, 2004–2026 in 1.11);
* ``provisional``: a year after the package's last whose notice is not published yet: weekends and
  the statutory holidays rest (:mod:`hotline.routing.provisional`), no 调休. Deadlines counted on
  it are estimates and say so.

A year before the package's first raises :class:`CalendarNotCovered` rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

from hotline.errors import ConfigError
from hotline.routing.provisional import is_provisional_workday, statutory_holidays

CHINA_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_OVERRIDES_PATH = Path(__file__).parent / "data" / "calendar_overrides.yml"
OFFICE_START = dt.time(9, 0)
OFFICE_END = dt.time(17, 30)
# Longest run of consecutive rest days we accept before assuming the calendar is broken.
_MAX_REST_RUN = 60

CalendarSource = Literal["override", "library", "provisional"]
log = logging.getLogger(__name__)


class CalendarNotCovered(ConfigError):
    """No source knows whether a day is a working day (a year before the package's first)."""

    code = "calendar_not_covered"


@dataclass(frozen=True)
class OfficeHours:
    """The working hours of every working day, in Asia/Shanghai time."""

    start: dt.time = OFFICE_START
    end: dt.time = OFFICE_END

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ConfigError(f"office hours: start {self.start} must be before end {self.end}")

    @property
    def minutes(self) -> int:
        """Length of one working day in minutes (510 for 09:00–17:30)."""
        start = self.start.hour * 60 + self.start.minute
        return self.end.hour * 60 + self.end.minute - start


@dataclass(frozen=True)
class CalendarOverrides:
    """Holidays and make-up working days by year, from ``calendar_overrides.yml``."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    years: frozenset[int] = frozenset()


def _dates(raw: Any, where: str, year: int) -> frozenset[dt.date]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(d, dt.date) for d in raw):
        raise ConfigError(f"calendar overrides: {where} must be a list of dates (YYYY-MM-DD)")
    wrong = [d.isoformat() for d in raw if d.year != year]
    if wrong:
        raise ConfigError(f"calendar overrides: {where} holds dates of another year: {wrong}")
    return frozenset(raw)


def _parse_year(year: Any, entry: Any) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ConfigError(f"calendar overrides: year key {year!r} must be a year like 2027")
    if not isinstance(entry, Mapping) or set(entry) - {"holidays", "workdays", "source"}:
        raise ConfigError(
            f"calendar overrides: years.{year} must be a mapping of holidays, workdays, source"
        )
    holidays = _dates(entry.get("holidays"), f"years.{year}.holidays", year)
    workdays = _dates(entry.get("workdays"), f"years.{year}.workdays", year)
    both = sorted(d.isoformat() for d in holidays & workdays)
    if both:
        raise ConfigError(f"calendar overrides: years.{year} lists {both} as holiday and workday")
    return holidays, workdays


def load_overrides(path: Path | None = None) -> CalendarOverrides:
    """Load and validate an override file (the shipped one when ``path`` is None)."""
    path = path or DEFAULT_OVERRIDES_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"calendar overrides: cannot read {path}: {exc}") from exc
    years = data.get("years") if isinstance(data, Mapping) else None
    if not isinstance(years, Mapping):
        raise ConfigError(f"calendar overrides: {path} must hold a mapping 'years: {{...}}'")
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for year, entry in years.items():
        year_holidays, year_workdays = _parse_year(year, entry)
        holidays |= year_holidays
        workdays |= year_workdays
    return CalendarOverrides(frozenset(holidays), frozenset(workdays), frozenset(years))


def library_years() -> range:
    """The years the installed ``chinese-calendar`` package covers (2004–2026 in 1.11)."""
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return range(min(years), max(years) + 1)


@dataclass
class WorkCalendar:
    """Working days and working time in Asia/Shanghai; answers are cached per day."""

    overrides: CalendarOverrides = field(default_factory=CalendarOverrides)
    office: OfficeHours = field(default_factory=OfficeHours)
    library: range = field(default_factory=library_years)
    _cache: dict[dt.date, bool] = field(default_factory=dict, repr=False)
    _provisional: dict[int, dict[dt.date, str]] = field(default_factory=dict, repr=False)

    def source_of(self, year: int) -> CalendarSource:
        """Which source decides the working days of ``year``; raises when none does."""
        if year in self.overrides.years:
            return "override"
        if year in self.library:
            return "library"
        if year >= self.library.stop:
            return "provisional"
        raise CalendarNotCovered(
            f"working calendar: no data for {year}; add 'years: {{{year}: ...}}' "
            "with its holidays and make-up working days to the calendar override file"
        )

    def provisional_years(self, first: dt.date, last: dt.date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` whose working days are only estimated."""
        years = range(first.year, last.year + 1)
        return tuple(y for y in years if self.source_of(y) == "provisional")

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` is an official working day (调休 Saturdays included)."""
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._lookup(day)
        return cached

    def _lookup(self, day: dt.date) -> bool:
        if day in self.overrides.holidays:
            return False
        if day in self.overrides.workdays:
            return True
        source = self.source_of(day.year)
        if day.year in self.library:
            # also for an override year: the file's dates above only correct the package
            return bool(chinese_calendar.is_workday(day))
        if source == "override":
            return day.weekday() < 5
        return is_provisional_workday(day, self._provisional_holidays(day.year))

    def _provisional_holidays(self, year: int) -> dict[dt.date, str]:
        holidays = self._provisional.get(year)
        if holidays is None:
            # once per year and calendar: the signal to add the published notice to the file
            log.warning("routing.calendar_provisional year=%d (no published holiday notice)", year)
            holidays = self._provisional[year] = statutory_holidays(year)
        return holidays

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        for offset in range(1, _MAX_REST_RUN + 1):
            candidate = day + dt.timedelta(days=offset)
            if self.is_workday(candidate):
                return candidate
        raise ConfigError(f"working calendar: no working day within {_MAX_REST_RUN} days of {day}")

    def opening(self, day: dt.date) -> dt.datetime:
        """Office opening time of ``day`` in Asia/Shanghai."""
        return dt.datetime.combine(day, self.office.start, tzinfo=CHINA_TZ)

    def closing(self, day: dt.date) -> dt.datetime:
        """Office closing time of ``day`` in Asia/Shanghai."""
        return dt.datetime.combine(day, self.office.end, tzinfo=CHINA_TZ)

    def working_start(self, moment: dt.datetime) -> dt.datetime:
        """The first working instant at or after ``moment`` (after hours → next working morning)."""
        local = _local(moment)
        day = local.date()
        if self.is_workday(day) and local < self.closing(day):
            return max(local, self.opening(day))
        return self.opening(self.next_workday(day))

    def add_working_days(self, moment: dt.datetime, days: int) -> dt.datetime:
        """Closing time of the ``days``-th working day after the day work can start on."""
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        day = self.working_start(moment).date()
        for _ in range(days):
            day = self.next_workday(day)
        return self.closing(day)

    def add_working_minutes(self, moment: dt.datetime, minutes: float) -> dt.datetime:
        """The instant ``minutes`` of office time after ``moment`` (counted in office hours)."""
        current = self.working_start(moment)
        remaining = dt.timedelta(minutes=minutes)
        while True:
            left_today = self.closing(current.date()) - current
            if remaining <= left_today:
                return current + remaining
            remaining -= left_today
            current = self.opening(self.next_workday(current.date()))

    def working_minutes_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Office-time minutes from ``start`` to ``end`` (0 when ``end`` is not later)."""
        current, end = self.working_start(start), _local(end)
        total = 0.0
        while current < end:
            stop = min(end, self.closing(current.date()))
            total += (stop - current).total_seconds() / 60
            current = self.opening(self.next_workday(current.date()))
        return total


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the working calendar")
    return moment.astimezone(CHINA_TZ)


def build_calendar(
    overrides_path: Path | None = None, office: OfficeHours | None = None
) -> WorkCalendar:
    """A working calendar from the override file (the shipped one by default)."""
    return WorkCalendar(overrides=load_overrides(overrides_path), office=office or OfficeHours())
