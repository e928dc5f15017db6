"""Provisional statutory holidays vs the lunar calendar and the published 2025–2026 calendar."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from lunar_python import Solar

from hotline.routing.calendar import CHINA_TZ, WorkCalendar
from hotline.routing.provisional import (
    is_provisional_workday,
    qingming,
    spring_festival,
    statutory_holidays,
)

# chinese-calendar's English names of the festivals
LIBRARY_NAMES = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


def qingming_by_formula(year: int) -> int:
    """The April day of 清明 by the usual 21st-century formula (an independent check)."""
    y = year % 100
    return int(y * 0.2422 + 4.81) - y // 4


def test_2027_spring_festival_follows_the_lunar_calendar() -> None:
    lunar = Solar.fromYmd(2027, 2, 6).getLunar()
    assert (lunar.getYear(), lunar.getMonth(), lunar.getDay()) == (2027, 1, 1)
    # 腊月 of 2026 has 29 days: 除夕 is 腊月廿九, not a 三十 that does not exist
    eve = Solar.fromYmd(2027, 2, 5).getLunar()
    assert (eve.getMonth(), eve.getDay()) == (12, 29)
    assert spring_festival(2027) == dt.date(2027, 2, 6)
    festival = sorted(d for d, name in statutory_holidays(2027).items() if name == "春节")
    assert festival == [dt.date(2027, 2, d) for d in (5, 6, 7, 8)]


def test_2027_statutory_holidays() -> None:
    expected = {
        dt.date(2027, 1, 1): "元旦",
        **{dt.date(2027, 2, d): "春节" for d in (5, 6, 7, 8)},
        dt.date(2027, 4, 5): "清明节",
        **{dt.date(2027, 5, d): "劳动节" for d in (1, 2)},
        dt.date(2027, 6, 9): "端午节",
        dt.date(2027, 9, 15): "中秋节",
        **{dt.date(2027, 10, d): "国庆节" for d in (1, 2, 3)},
    }
    assert statutory_holidays(2027) == expected


@pytest.mark.parametrize("year", range(2020, 2027))
def test_qingming_matches_formula_and_published_holiday(year: int) -> None:
    day = qingming(year)
    assert day == dt.date(year, 4, qingming_by_formula(year))
    terms = chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30))
    assert (day, "清明") in terms
    assert chinese_calendar.get_holiday_detail(day) == (True, "Tomb-sweeping Day")


@pytest.mark.parametrize("year", [2025, 2026])
def test_statutory_days_are_published_holidays_under_the_2025_rules(year: int) -> None:
    # 2025 and 2026 were published under the amended rules: every statutory day is a holiday
    # of the same festival (2025's 除夕 is a 腊月廿九, 2026's 清明 falls on a Sunday)
    holidays = statutory_holidays(year)
    assert len(holidays) == 13
    for day, name in holidays.items():
        assert chinese_calendar.get_holiday_detail(day) == (True, LIBRARY_NAMES[name]), day


def test_rules_before_2025_are_refused() -> None:
    with pytest.raises(ValueError, match="2024"):
        statutory_holidays(2024)


def test_provisional_workdays_are_weekdays_without_statutory_holidays() -> None:
    assert not is_provisional_workday(dt.date(2027, 2, 5))  # 除夕, a Friday
    assert not is_provisional_workday(dt.date(2027, 2, 13))  # ordinary Saturday
    assert is_provisional_workday(dt.date(2027, 2, 9))  # Tuesday after 初三
    assert is_provisional_workday(dt.date(2027, 5, 3))  # no substitute day is guessed


@pytest.fixture(scope="module")
def pair() -> tuple[WorkCalendar, WorkCalendar]:
    """The published 2026 calendar, and 2026 as if its notice were not out yet."""
    return WorkCalendar(), WorkCalendar(library=range(2004, 2025))


def test_provisional_deadline_can_be_later_than_the_final_one(
    pair: tuple[WorkCalendar, WorkCalendar],
) -> None:
    final, provisional = pair
    assert provisional.source_of(2026) == "provisional"
    created = at(2026, 2, 13, 10, 0)  # Friday; the 14th is a 调休 working Saturday
    assert final.add_working_days(created, 1) == at(2026, 2, 14, 17, 30)
    assert provisional.add_working_days(created, 1) == at(2026, 2, 20, 17, 30)


def test_provisional_deadline_can_be_earlier_than_the_final_one(
    pair: tuple[WorkCalendar, WorkCalendar],
) -> None:
    final, provisional = pair
    # the 20th (Friday) and 23rd (Monday) were bridged into the 2026 Spring Festival break
    created = at(2026, 2, 20, 10, 0)
    assert final.add_working_days(created, 1) == at(2026, 2, 25, 17, 30)
    assert provisional.add_working_days(created, 1) == at(2026, 2, 23, 17, 30)
    # 清明 fell on Sunday the 5th; the notice gave Monday the 6th off, which no rule foresees
    assert not final.is_workday(dt.date(2026, 4, 6))
    assert provisional.is_workday(dt.date(2026, 4, 6))
