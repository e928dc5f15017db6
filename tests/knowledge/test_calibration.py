"""The confidence is a monotone map into [0, 1]."""

from __future__ import annotations

import itertools
import random

import pytest

from hotline.knowledge.retrieval.calibration import Calibration
from hotline.knowledge.retrieval.index import HybridIndex

GRID = [x / 10 for x in range(-10, 21)]


def test_confidence_is_in_unit_interval_and_monotone() -> None:
    calibration = Calibration()
    for fused, margin in itertools.product(GRID, GRID):
        value = calibration.confidence(fused, margin)
        assert 0.0 <= value <= 1.0
        assert calibration.confidence(fused + 0.1, margin) >= value
        assert calibration.confidence(fused, margin + 0.1) >= value
    assert calibration.confidence(-1000.0, -1000.0) == 0.0


def test_negative_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="monotone"):
        Calibration(fused_weight=-1.0, margin_weight=1.0, bias=0.0)


def test_fit_learns_that_higher_scores_are_more_often_right() -> None:
    rng = random.Random(3)
    features, labels = [], []
    for _ in range(400):
        fused, margin = rng.random() * 1.5, rng.random() * 0.4
        features.append((fused, margin))
        labels.append(rng.random() < min(1.0, fused / 1.5 + margin))
    fitted = Calibration.fit(features, labels)
    assert fitted.fused_weight > 0
    assert fitted.confidence(1.4, 0.3) > 0.8 > 0.2 > fitted.confidence(0.1, 0.0)


def test_fit_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both"):
        Calibration.fit([(0.5, 0.1), (0.7, 0.2)], [True, True])


def test_search_scores_fall_with_rank(small_index: HybridIndex) -> None:
    for query in ("暖气不热", "身份证丢了怎么办", "下岗了能领钱吗", "今天天气怎么样"):
        scores = [h.score for h in small_index.search(query, k=5)]
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True)


def test_top_confidence_does_not_depend_on_k(small_index: HybridIndex) -> None:
    for query in ("暖气不热", "下岗了能领钱吗", "今天天气怎么样"):
        assert small_index.search(query, k=1)[0].score == small_index.search(query, k=5)[0].score
