"""Emergency detection: recall on real emergencies, silence on hard negatives."""

from __future__ import annotations

import pytest

from hotline.nlu.emergency import detect_emergency
from hotline.nlu.normalize import Normalizer
from hotline.nlu.types import Emergency
from tests.nlu.emergency_cases import NEGATIVES, POSITIVES

_normalize = Normalizer()


def test_case_lists_are_large_enough() -> None:
    assert len(POSITIVES) >= 40
    assert len(NEGATIVES) >= 40
    assert {service for _, service in POSITIVES} == {"110", "119", "120", "122"}


@pytest.mark.parametrize(("text", "service"), POSITIVES)
def test_emergencies_are_detected(text: str, service: str) -> None:
    hit = detect_emergency(_normalize(text))
    assert hit is not None, text
    assert hit.service == Emergency(service)
    assert hit.reason in _normalize(text)


@pytest.mark.parametrize("text", NEGATIVES)
def test_hard_negatives_do_not_fire(text: str) -> None:
    assert detect_emergency(_normalize(text)) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("喂 喂 那个 着火了 快来人啊", "着火"),
        ("我爸突然晕倒了", "晕倒"),
        ("有人拿着刀在街上追人", "拿着刀"),
    ],
)
def test_reason_is_the_phrase_that_fired(text: str, reason: str) -> None:
    hit = detect_emergency(_normalize(text))
    assert hit is not None
    assert hit.reason == reason


def test_fire_wins_over_other_lines() -> None:
    hit = detect_emergency("着火了，有人晕倒了")
    assert hit is not None
    assert hit.service is Emergency.FIRE


def test_traffic_wins_over_ambulance() -> None:
    hit = detect_emergency("撞车了，司机昏迷了")
    assert hit is not None
    assert hit.service is Emergency.TRAFFIC


def test_a_cry_for_help_overrides_past_context() -> None:
    assert detect_emergency("之前被打过") is None
    hit = detect_emergency("之前被打过，现在他又在打我，救命")
    assert hit is not None
    assert hit.service is Emergency.POLICE


def test_negation_is_local() -> None:
    assert detect_emergency("没着火") is None
    assert detect_emergency("没有人受伤") is None
    hit = detect_emergency("没想到着火了")
    assert hit is not None
    assert hit.service is Emergency.FIRE
