"""Dates and times in citizen messages (今天, 上周三, 3月5日, 晚上10点, 凌晨两点…) resolved to ISO.

Resolution rules, relative to ``now`` in China Standard Time (UTC+8, no daylight saving):

* a date alone gives ``YYYY-MM-DD``; a date or day word followed by a clock time gives
  ``YYYY-MM-DDTHH:MM:SS+08:00``; a clock time alone is taken as today;
* ``3月5日`` without a year is in the current year; a bare ``周三`` is in the current week
  (Monday to Sunday), ``上周三`` in the previous one, ``下周三`` in the next;
* ``下午/晚上/傍晚`` add 12 hours to 1–11 o'clock; ``夜里/深夜/半夜`` do so only from 6 o'clock
  (``夜里两点`` is 02:00); ``晚上12点`` is midnight at the end of that day; ``中午1点`` is 13:00.

Impossible dates (``2月30日``) and times (``25点``) are not extracted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from hotline.nlu.numerals import parse_number

__all__ = ["CHINA_TZ", "TimeMention", "find_times", "to_china_time"]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

_NUM = r"(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})"
_RELATIVE_DAYS = {
    "大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "昨晚": -1, "今天": 0, "今日": 0,
    "今晚": 0, "今早": 0, "明天": 1, "明日": 1, "明早": 1, "明晚": 1, "后天": 2, "大后天": 3,
}  # fmt: skip
_NIGHT_WORDS = ("今晚", "昨晚", "明晚")
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEK_SHIFT = {"上上": -2, "上": -1, "上个": -1, "这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1}

_DATE = re.compile(
    r"(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2})(?!\d)"
    rf"|(?:(?P<y>\d{{4}}|[零〇一二三四五六七八九]{{4}})年)?(?P<m>{_NUM})月(?P<d>{_NUM})[日号]"
    r"|(?P<rel>大前天|大后天|前天|昨天|昨日|昨晚|今天|今日|今晚|今早|明天|明日|明早|明晚|后天)"
    r"|(?P<wk>上上|上个|上|这个|这|本|下个|下)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
    rf"|(?P<ago>{_NUM})天(?:前|以前|之前)"
)
_PERIODS = "凌晨|清晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|夜里|夜间|半夜|深夜"
_TIME = re.compile(
    rf"(?P<period>{_PERIODS})?"
    rf"(?:(?P<h>{_NUM})[点时](?>(?P<half>半)|(?P<quarter>一刻|三刻)|(?P<min>{_NUM})分?)?"
    r"(?![\d零〇一二两三四五六七八九十万千百亿元块角毛])"  # 三点五万元 is money, not 03:05
    r"|(?P<hh>\d{1,2})[:：](?P<mm>\d{2}))"
)


@dataclass(frozen=True)
class TimeMention:
    """A date/time span and its ISO value."""

    start: int
    end: int
    value: str


def to_china_time(moment: datetime) -> datetime:
    """``moment`` in UTC+8; a naive datetime is taken to be China time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def _int(text: str) -> int:
    return int(parse_number(text))


def _week_date(match: re.Match[str], today: date) -> date:
    raw = match["wd"]
    weekday = int(raw) - 1 if raw.isdigit() else _WEEKDAYS[raw]
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=_WEEK_SHIFT.get(match["wk"] or "", 0), days=weekday)


def _resolve_date(match: re.Match[str], today: date) -> date:
    """The date a ``_DATE`` match names; ValueError when it is impossible."""
    if match["iy"]:
        return date(int(match["iy"]), int(match["im"]), int(match["id"]))
    if match["m"]:
        year = _int(match["y"]) if match["y"] else today.year
        return date(year, _int(match["m"]), _int(match["d"]))
    if match["rel"]:
        return today + timedelta(days=_RELATIVE_DAYS[match["rel"]])
    if match["wd"]:
        return _week_date(match, today)
    return today - timedelta(days=_int(match["ago"]))


def _hour_of_day(hour: int, period: str) -> tuple[int, int]:
    """24-hour clock hour for a spoken hour and period, with a day shift for midnight."""
    if period in {"下午", "午后", "傍晚", "晚上"} and 1 <= hour < 12:
        return hour + 12, 0
    if period in {"夜里", "夜间", "深夜", "半夜"} and 6 <= hour < 12:
        return hour + 12, 0
    if period == "中午" and 1 <= hour <= 3:
        return hour + 12, 0
    if hour == 12 and period in {"晚上", "夜里", "夜间", "深夜", "半夜", "凌晨"}:
        return 0, 0 if period == "凌晨" else 1
    return hour, 0


def _resolve_time(match: re.Match[str], default_period: str) -> tuple[time, int]:
    """Clock time and day shift of a ``_TIME`` match; ValueError when impossible."""
    if match["hh"]:
        return time(int(match["hh"]), int(match["mm"])), 0
    minute = 0
    if match["half"]:
        minute = 30
    elif match["quarter"]:
        minute = 15 if match["quarter"] == "一刻" else 45
    elif match["min"]:
        minute = _int(match["min"])
    hour, shift = _hour_of_day(_int(match["h"]), match["period"] or default_period)
    if hour == 24:
        hour, shift = 0, shift + 1
    return time(hour, minute), shift


def _dates(text: str, today: date) -> list[tuple[re.Match[str], date]]:
    found = []
    for match in _DATE.finditer(text):
        try:
            found.append((match, _resolve_date(match, today)))
        except ValueError:
            continue
    return found


def _at(day: date, clock: time, shift: int) -> str:
    return datetime.combine(day + timedelta(days=shift), clock, CHINA_TZ).isoformat()


def _date_mention(text: str, match: re.Match[str], day: date) -> TimeMention:
    """A date, extended by the clock time right after it (昨天晚上10点) when there is one."""
    end = match.end()
    clock = _TIME.match(text, end + (1 if text[end : end + 1] == " " else 0))
    if clock is not None:
        try:
            moment, shift = _resolve_time(clock, "晚上" if match["rel"] in _NIGHT_WORDS else "")
        except ValueError:
            pass
        else:
            return TimeMention(match.start(), clock.end(), _at(day, moment, shift))
    return TimeMention(match.start(), end, day.isoformat())


def _bare_clocks(text: str, today: date, taken: list[TimeMention]) -> Iterator[TimeMention]:
    """Clock times outside any date mention, taken as today."""
    for clock in _TIME.finditer(text):
        if any(m.start < clock.end() and clock.start() < m.end for m in taken):
            continue
        if clock.group(0) == "一点":
            continue  # 快一点 / 有一点: "a little", not one o'clock
        try:
            moment, shift = _resolve_time(clock, "")
        except ValueError:
            continue
        yield TimeMention(clock.start(), clock.end(), _at(today, moment, shift))


def find_times(text: str, now: datetime) -> list[TimeMention]:
    """Every date / time mention in ``text``, resolved against ``now``."""
    today = to_china_time(now).date()
    mentions = [_date_mention(text, match, day) for match, day in _dates(text, today)]
    mentions += list(_bare_clocks(text, today, mentions))
    return sorted(mentions, key=lambda m: m.start)
