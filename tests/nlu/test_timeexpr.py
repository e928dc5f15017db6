"""Dates and times resolved against a fixed now (Sunday 2026-11-22 10:30 China time)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.nlu.timeexpr import find_times, to_china_time
from tests.nlu.clock import FIXED_NOW


@pytest.mark.parametrize(
    ("text", "span", "value"),
    [
        ("今天", "今天", "2026-11-22"),
        ("昨天下午来的", "昨天下午", None),
        ("昨天晚上10点", "昨天晚上10点", "2026-11-21T22:00:00+08:00"),
        ("明天", "明天", "2026-11-23"),
        ("前天", "前天", "2026-11-20"),
        ("上周三下午三点半", "上周三下午三点半", "2026-11-11T15:30:00+08:00"),
        ("下周一", "下周一", "2026-11-23"),
        ("星期天", "星期天", "2026-11-22"),
        ("3月5日", "3月5日", "2026-03-05"),
        ("十一月二十二号", "十一月二十二号", "2026-11-22"),
        ("2026年3月5日上午9点", "2026年3月5日上午9点", "2026-03-05T09:00:00+08:00"),
        ("2026-03-05 22:30", "2026-03-05 22:30", "2026-03-05T22:30:00+08:00"),
        ("晚上10点", "晚上10点", "2026-11-22T22:00:00+08:00"),
        ("凌晨两点", "凌晨两点", "2026-11-22T02:00:00+08:00"),
        ("今晚8点", "今晚8点", "2026-11-22T20:00:00+08:00"),
        ("夜里11点", "夜里11点", "2026-11-22T23:00:00+08:00"),
        ("晚上12点", "晚上12点", "2026-11-23T00:00:00+08:00"),
        ("中午1点", "中午1点", "2026-11-22T13:00:00+08:00"),
        ("昨晚十一点一刻", "昨晚十一点一刻", "2026-11-21T23:15:00+08:00"),
        ("三天前", "三天前", "2026-11-19"),
    ],
)
def test_resolves(text: str, span: str, value: str | None) -> None:
    found = find_times(text, FIXED_NOW)
    if value is None:  # a date with a bare period keeps the date only
        assert [text[m.start : m.end] for m in found] == ["昨天"]
        assert found[0].value == "2026-11-21"
        return
    assert [(text[m.start : m.end], m.value) for m in found] == [(span, value)]


@pytest.mark.parametrize(
    "text", ["2月30日", "25点", "三点五万元", "快一点", "有一点吵", "没有时间"]
)
def test_rejects(text: str) -> None:
    assert find_times(text, FIXED_NOW) == []


def test_now_in_another_zone_is_converted() -> None:
    late_utc = datetime(2026, 11, 21, 20, 0, tzinfo=UTC)  # already the 22nd in China
    assert find_times("今天", late_utc)[0].value == "2026-11-22"
    assert to_china_time(datetime(2026, 1, 1, 8, 0)).utcoffset() is not None
