"""Due and warning times by subcategory and urgency on the official calendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hotline.classifier.taxonomy import Taxonomy, Urgency, load_taxonomy
from hotline.errors import ValidationFailed
from hotline.routing.calendar import CHINA_TZ, build_calendar
from hotline.routing.deadlines import DeadlinePolicy, parse_urgency


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def policy() -> DeadlinePolicy:
    return DeadlinePolicy(build_calendar())


def test_normal_ticket_gets_taxonomy_working_days_across_spring_festival(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    street_lights = taxonomy.subcategory("0503")  # 路灯照明: 3 working days
    deadline = policy.deadline(street_lights, Urgency.NORMAL, at(2026, 2, 12, 11, 0))
    # 13 (Fri), 14 (调休 Sat), then the holiday until the 23rd, then the 24th
    assert deadline.due == at(2026, 2, 24, 17, 30)
    assert deadline.basis == "3 个工作日"
    assert deadline.working_time
    assert deadline.provisional_years == ()
    assert deadline.provisional_notice is None
    # span 390 + 3 × 510 = 1920 office minutes; 25 % (480) is less than a working day (510)
    assert deadline.warning == at(2026, 2, 24, 9, 30)


def test_long_deadline_warns_one_working_day_before(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    schools = taxonomy.subcategory("0101")  # 10 working days
    deadline = policy.deadline(schools, Urgency.NORMAL, at(2026, 9, 24, 9, 0))
    # the 25th is Mid-Autumn; 28, 29, 30, then National Day; Oct 8, 9, 10 (调休 Sat), 12–15
    assert deadline.due == at(2026, 10, 15, 17, 30)
    assert deadline.warning == at(2026, 10, 14, 17, 30)


def test_urgent_ticket_gets_one_working_day(taxonomy: Taxonomy, policy: DeadlinePolicy) -> None:
    lights = taxonomy.subcategory("0503")
    deadline = policy.deadline(lights, Urgency.URGENT, at(2026, 2, 13, 20, 0))  # Friday evening
    # starts on the 调休 Saturday morning; one working day later is the 24th
    assert deadline.start == at(2026, 2, 14, 9, 0)
    assert deadline.due == at(2026, 2, 24, 17, 30)
    assert deadline.basis == "1 个工作日（加急）"
    # span of 1020 office minutes, warned 25 % (255 min) before due
    assert deadline.warning == at(2026, 2, 24, 13, 15)


def test_urgent_does_not_lengthen_a_shorter_taxonomy_deadline(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    manholes = taxonomy.subcategory("0502")  # 1 working day already
    deadline = policy.deadline(manholes, Urgency.URGENT, at(2026, 9, 30, 10, 0))
    assert deadline.due == at(2026, 10, 8, 17, 30)


def test_critical_counts_calendar_hours_even_on_holidays(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    gas = taxonomy.subcategory("2101")  # 燃气安全隐患 is critical in the taxonomy
    created = dt.datetime(2026, 10, 1, 14, 0, tzinfo=dt.UTC)  # 22:00 on National Day
    deadline = policy.deadline(gas, Urgency.NORMAL, created)
    assert deadline.urgency is Urgency.CRITICAL
    assert deadline.due == at(2026, 10, 2, 0, 0)
    assert deadline.warning == at(2026, 10, 1, 23, 30)
    assert not deadline.working_time


def test_critical_ticket_urgency_wins_over_a_normal_subcategory(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    deadline = policy.deadline(taxonomy.subcategory("0401"), Urgency.CRITICAL, at(2026, 3, 1, 3, 0))
    assert deadline.due == at(2026, 3, 1, 5, 0)


def test_naive_creation_time_is_refused(taxonomy: Taxonomy, policy: DeadlinePolicy) -> None:
    with pytest.raises(ValueError, match="naive"):
        policy.deadline(taxonomy.subcategory("0401"), Urgency.NORMAL, dt.datetime(2026, 3, 2))


def test_deadline_into_an_unpublished_year_is_estimated_and_flagged(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    schools = taxonomy.subcategory("0101")  # 10 working days
    deadline = policy.deadline(schools, Urgency.NORMAL, at(2026, 12, 28, 10, 0))
    # 29, 30, 31 Dec; 1 Jan 2027 is 元旦 (Friday); 4–8 and 11, 12 Jan
    assert deadline.due == at(2027, 1, 12, 17, 30)
    assert deadline.warning == at(2027, 1, 11, 17, 30)
    assert deadline.provisional_years == (2027,)
    assert deadline.provisional_notice == "2027年放假安排尚未公布，时限按法定节假日暂估"


def test_deadline_created_in_an_unpublished_year_is_flagged(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    lights = taxonomy.subcategory("0503")  # 3 working days
    # created on 除夕 2027: counting starts after 初三 (Monday the 8th)
    deadline = policy.deadline(lights, Urgency.NORMAL, at(2027, 2, 5, 10, 0))
    assert deadline.start == at(2027, 2, 9, 9, 0)
    assert deadline.due == at(2027, 2, 12, 17, 30)
    assert deadline.provisional_years == (2027,)


def test_critical_deadline_needs_no_calendar_and_is_not_flagged(
    taxonomy: Taxonomy, policy: DeadlinePolicy
) -> None:
    gas = taxonomy.subcategory("2101")
    deadline = policy.deadline(gas, Urgency.NORMAL, at(2027, 2, 6, 10, 0))
    assert deadline.due == at(2027, 2, 6, 12, 0)
    assert deadline.provisional_notice is None


def test_published_override_year_is_not_flagged(taxonomy: Taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text("years:\n  2027:\n    holidays: [2027-01-01, 2027-01-04]\n", encoding="utf-8")
    policy = DeadlinePolicy(build_calendar(path))
    deadline = policy.deadline(taxonomy.subcategory("0101"), Urgency.NORMAL, at(2026, 12, 28, 10))
    # the file's extra holiday on the 4th moves the due day to the 13th
    assert deadline.due == at(2027, 1, 13, 17, 30)
    assert deadline.provisional_years == ()


def test_provisional_year_before_a_published_one_is_still_flagged(
    taxonomy: Taxonomy, tmp_path: Path
) -> None:
    path = tmp_path / "overrides.yml"
    path.write_text("years:\n  2028:\n    holidays: [2028-01-03]\n", encoding="utf-8")
    policy = DeadlinePolicy(build_calendar(path))
    deadline = policy.deadline(taxonomy.subcategory("0101"), Urgency.NORMAL, at(2027, 12, 29, 10))
    # 30, 31 Dec 2027 (provisional), then 2028 from the file: 3 Jan off, 4–7, 10–13 Jan
    assert deadline.due == at(2028, 1, 13, 17, 30)
    assert deadline.provisional_years == (2027,)


def test_parse_urgency() -> None:
    assert parse_urgency(None) is Urgency.NORMAL
    assert parse_urgency("urgent") is Urgency.URGENT
    with pytest.raises(ValidationFailed, match="unknown urgency"):
        parse_urgency("asap")
