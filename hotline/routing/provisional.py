"""Provisional public holidays of a year whose State Council holiday notice is not yet published.

The statutory holidays follow 《全国年节及纪念日放假办法》 as amended in 2024 (in force from
2025): 元旦 Jan 1; 春节 除夕 to 正月初三 (4 days); 清明 (the solar-term day); 劳动节 May 1–2;
端午 五月初五; 中秋 八月十五; 国庆 Oct 1–3. Lunar dates and the 清明 solar term come from
``lunar_python`` (offline, pure Python).

What this cannot know is the yearly notice's 调休: the weekdays bridged into a longer break, the
weekday given off when a holiday falls on a weekend, and the weekend days worked in exchange.
A provisional calendar (weekends + these days) therefore differs from the final one near holidays,
**in both directions**: it lacks the make-up working weekends (its deadlines come out later) and
it counts the bridged weekdays as working days (its deadlines come out earlier). Measured on 2025
and 2026, where the published calendar is known, most deadlines agree; the ones that differ do so
by one or two working days either way (see ``tests/routing/test_provisional.py``).
"""

from __future__ import annotations

import datetime as dt

from lunar_python import Lunar

#: the first year the 2024 amendment of the holiday regulations applies to
FIRST_RULES_YEAR = 2025
RULES = "《全国年节及纪念日放假办法》（2024年修订）"


def _solar_date(lunar: Lunar) -> dt.date:
    solar = lunar.getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def spring_festival(year: int) -> dt.date:
    """正月初一 of the lunar year that begins in solar ``year``."""
    return _solar_date(Lunar.fromYmd(year, 1, 1))


def qingming(year: int) -> dt.date:
    """The day of the 清明 solar term in ``year`` (Beijing time)."""
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def statutory_holidays(year: int) -> dict[dt.date, str]:
    """The statutory rest days of ``year`` (no 调休), each with its festival's name."""
    if year < FIRST_RULES_YEAR:
        raise ValueError(f"{RULES} applies from {FIRST_RULES_YEAR}, not to {year}")
    new_year = spring_festival(year)
    days = {dt.date(year, 1, 1): "元旦", qingming(year): "清明节"}
    # 除夕 is the day before 初一, whether 腊月 has 29 or 30 days
    days.update({new_year + dt.timedelta(days=n): "春节" for n in range(-1, 3)})
    days.update({dt.date(year, 5, d): "劳动节" for d in (1, 2)})
    days[_solar_date(Lunar.fromYmd(year, 5, 5))] = "端午节"
    days[_solar_date(Lunar.fromYmd(year, 8, 15))] = "中秋节"
    days.update({dt.date(year, 10, d): "国庆节" for d in (1, 2, 3)})
    stray = sorted(d.isoformat() for d in days if d.year != year)
    if stray:
        raise ValueError(f"statutory holidays of {year} computed outside the year: {stray}")
    return days


def is_provisional_workday(day: dt.date, holidays: dict[dt.date, str] | None = None) -> bool:
    """Whether ``day`` works under the provisional rules: a weekday that is no statutory holiday."""
    holidays = statutory_holidays(day.year) if holidays is None else holidays
    return day.weekday() < 5 and day not in holidays
