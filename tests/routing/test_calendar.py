"""Working days, office hours and the override file around Spring Festival and National Day."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from hotline.errors import ConfigError
from hotline.routing.calendar import (
    CHINA_TZ,
    CalendarNotCovered,
    OfficeHours,
    WorkCalendar,
    build_calendar,
    load_overrides,
)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return build_calendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 2, 13), True),  # Friday before the holiday
        (dt.date(2026, 2, 14), True),  # 调休: Saturday worked
        (dt.date(2026, 2, 15), False),  # holiday starts (Sunday)
        (dt.date(2026, 2, 17), False),  # 初一, a Tuesday
        (dt.date(2026, 2, 23), False),  # last holiday day, a Monday
        (dt.date(2026, 2, 24), True),
        (dt.date(2026, 2, 28), True),  # 调休: Saturday worked
        (dt.date(2026, 3, 1), False),  # ordinary Sunday
        (dt.date(2026, 9, 20), True),  # 调休 Sunday before National Day
        (dt.date(2026, 10, 1), False),
        (dt.date(2026, 10, 7), False),
        (dt.date(2026, 10, 8), True),
        (dt.date(2026, 10, 10), True),  # 调休 Saturday after National Day
    ],
)
def test_official_working_days_2026(calendar: WorkCalendar, day: dt.date, working: bool) -> None:
    assert calendar.is_workday(day) is working


def test_working_start_moves_after_hours_and_holidays_to_next_morning(
    calendar: WorkCalendar,
) -> None:
    assert calendar.working_start(at(2026, 2, 12, 10, 0)) == at(2026, 2, 12, 10, 0)
    assert calendar.working_start(at(2026, 2, 12, 7, 0)) == at(2026, 2, 12, 9, 0)
    assert calendar.working_start(at(2026, 2, 13, 18, 0)) == at(2026, 2, 14, 9, 0)
    assert calendar.working_start(at(2026, 2, 14, 17, 30)) == at(2026, 2, 24, 9, 0)
    # a UTC input is read in Asia/Shanghai: 01:00Z is 09:00 local
    utc = dt.datetime(2026, 2, 24, 1, 0, tzinfo=dt.UTC)
    assert calendar.working_start(utc) == at(2026, 2, 24, 9, 0)


def test_working_days_skip_spring_festival(calendar: WorkCalendar) -> None:
    # Friday 13th: day 1 is the 调休 Saturday 14th, day 2 is the 24th after the holiday
    assert calendar.add_working_days(at(2026, 2, 13, 10, 0), 1) == at(2026, 2, 14, 17, 30)
    assert calendar.add_working_days(at(2026, 2, 13, 10, 0), 2) == at(2026, 2, 24, 17, 30)
    # created during the holiday: counting starts on the 24th
    assert calendar.add_working_days(at(2026, 2, 17, 12, 0), 1) == at(2026, 2, 25, 17, 30)
    # the 28th is a working Saturday: 24, 25, 26, 27 → 4 days end on Saturday the 28th
    assert calendar.add_working_days(at(2026, 2, 23, 12, 0), 4) == at(2026, 2, 28, 17, 30)


def test_working_days_skip_national_day(calendar: WorkCalendar) -> None:
    assert calendar.add_working_days(at(2026, 9, 30, 15, 0), 1) == at(2026, 10, 8, 17, 30)
    assert calendar.add_working_days(at(2026, 9, 30, 15, 0), 3) == at(2026, 10, 10, 17, 30)


def test_working_minutes_cross_the_holiday(calendar: WorkCalendar) -> None:
    # Saturday 14th 16:30 + 2 working hours: 1 h that day, 1 h on the 24th
    assert calendar.add_working_minutes(at(2026, 2, 14, 16, 30), 120) == at(2026, 2, 24, 10, 0)
    minutes = calendar.working_minutes_between(at(2026, 2, 14, 16, 30), at(2026, 2, 24, 10, 0))
    assert minutes == 120


def test_year_before_the_package_fails_loudly(calendar: WorkCalendar) -> None:
    with pytest.raises(CalendarNotCovered, match="2003"):
        calendar.is_workday(dt.date(2003, 3, 3))
    with pytest.raises(CalendarNotCovered, match="2003"):
        calendar.source_of(2003)


def test_each_year_has_one_source(calendar: WorkCalendar) -> None:
    assert calendar.source_of(2004) == "library"
    assert calendar.source_of(2026) == "library"
    assert calendar.source_of(2027) == "provisional"
    assert calendar.source_of(2031) == "provisional"
    assert calendar.provisional_years(dt.date(2026, 12, 30), dt.date(2028, 1, 3)) == (2027, 2028)
    assert calendar.provisional_years(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == ()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 12, 31), True),  # published year, ordinary Thursday
        (dt.date(2027, 1, 1), False),  # 元旦, a Friday
        (dt.date(2027, 1, 4), True),
        (dt.date(2027, 2, 4), True),
        (dt.date(2027, 2, 5), False),  # 除夕
        (dt.date(2027, 2, 8), False),  # 初三, a Monday
        (dt.date(2027, 2, 9), True),
        (dt.date(2027, 2, 13), False),  # Saturday: no 调休 is invented
        (dt.date(2027, 4, 5), False),  # 清明
        (dt.date(2027, 6, 9), False),  # 端午
        (dt.date(2027, 9, 15), False),  # 中秋
        (dt.date(2027, 10, 4), True),  # 国庆 is Oct 1–3 until the notice extends it
    ],
)
def test_provisional_working_days_2027(calendar: WorkCalendar, day: dt.date, working: bool) -> None:
    assert calendar.is_workday(day) is working


def test_provisional_year_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar = build_calendar()
    with caplog.at_level(logging.WARNING, logger="hotline.routing.calendar"):
        calendar.add_working_days(at(2027, 1, 1, 10, 0), 30)
    provisional = [r for r in caplog.records if "calendar_provisional" in r.getMessage()]
    assert [r.getMessage() for r in provisional] == [
        "routing.calendar_provisional year=2027 (no published holiday notice)"
    ]


def test_override_year_wins_over_provisional_rules(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text("years:\n  2027:\n    holidays: [2027-01-01]\n", encoding="utf-8")
    calendar = build_calendar(path)
    assert calendar.source_of(2027) == "override"
    assert calendar.source_of(2028) == "provisional"
    assert not calendar.is_workday(dt.date(2027, 1, 1))
    # the file alone defines 2027: 除夕 (a Friday) is not a holiday unless it lists it
    assert calendar.is_workday(dt.date(2027, 2, 5))
    assert calendar.provisional_years(dt.date(2027, 1, 1), dt.date(2027, 12, 31)) == ()


def test_override_year_defines_holidays_and_makeup_days(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text(
        "years:\n"
        "  2031:\n"
        "    source: test notice\n"
        "    holidays: [2031-01-01, 2031-01-02]\n"
        "    workdays: [2031-01-04]\n",
        encoding="utf-8",
    )
    calendar = build_calendar(path)
    assert not calendar.is_workday(dt.date(2031, 1, 1))  # Wednesday, holiday
    assert not calendar.is_workday(dt.date(2031, 1, 2))
    assert calendar.is_workday(dt.date(2031, 1, 3))  # ordinary Friday
    assert calendar.is_workday(dt.date(2031, 1, 4))  # 调休 Saturday
    assert not calendar.is_workday(dt.date(2031, 1, 5))  # ordinary Sunday
    # created on the holiday: counting starts on Friday the 3rd; day 1 is Saturday the 4th
    assert calendar.add_working_days(at(2031, 1, 1, 10, 0), 2) == at(2031, 1, 6, 17, 30)


def test_override_can_correct_a_covered_year(tmp_path: Path) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text("years:\n  2026:\n    holidays: [2026-03-02]\n", encoding="utf-8")
    calendar = build_calendar(path)
    assert calendar.source_of(2026) == "override"
    assert not calendar.is_workday(dt.date(2026, 3, 2))
    # the package still decides the other days of a year it covers
    assert calendar.is_workday(dt.date(2026, 2, 14))  # 调休 Saturday
    assert not calendar.is_workday(dt.date(2026, 2, 16))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("years: [2027]\n", "must hold a mapping"),
        ("years:\n  twenty: {}\n", "year key"),
        ("years:\n  2027: {holidays: [2026-01-01]}\n", "another year"),
        ("years:\n  2027: {holidays: [not-a-date]}\n", "list of dates"),
        ("years:\n  2027: {holidays: [2027-01-01], workdays: [2027-01-01]}\n", "holiday and"),
        ("years:\n  2027: {holiday: [2027-01-01]}\n", "years.2027 must be a mapping"),
        ("years: [\n", "cannot read"),
    ],
)
def test_bad_override_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_overrides(path)


def test_shipped_overrides_load() -> None:
    assert load_overrides().years == frozenset()


def test_office_hours_must_be_ordered() -> None:
    with pytest.raises(ConfigError, match="office hours"):
        OfficeHours(dt.time(18, 0), dt.time(9, 0))
    assert OfficeHours().minutes == 510
