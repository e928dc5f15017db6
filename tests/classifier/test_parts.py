"""The building blocks: text normalisation, folds, the blend, metrics and roll-ups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.classifier.features import FeatureConfig, normalise_text
from hotline.classifier.heads import Blend
from hotline.classifier.metrics import evaluate, format_report
from hotline.classifier.model import TextClassifier
from hotline.classifier.rollup import ranked_targets, roll_up
from hotline.classifier.training import TrainConfig, stratified_folds
from tests.classifier.conftest import HELD_OUT


def test_normalise_text_collapses_numbers_masks_and_width() -> None:
    assert normalise_text("ＡＢＣ小区12号楼****室  电话 13800000000") == "abc小区0号楼*室 电话 0"


def test_stratified_folds_accept_labels_rarer_than_k() -> None:
    targets = np.array([0] * 9 + [1] * 2 + [2])
    folds = stratified_folds(targets, 3, seed=0)
    assert sorted(np.bincount(folds[targets == 0])) == [3, 3, 3]
    assert len(set(folds[targets == 1])) == 2
    assert np.array_equal(folds, stratified_folds(targets, 3, seed=0))


def test_blend_learns_temperature_and_trusts_the_better_head() -> None:
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, size=600)
    informative = np.eye(3)[targets] * 2.0 + rng.normal(scale=1.0, size=(600, 3))
    noise = rng.normal(size=(600, 3))
    blend = Blend.fit([informative, noise], targets, np.ones(600))
    assert blend.weights[0] > 5 * abs(blend.weights[1])
    probabilities = blend.probabilities([informative, noise])
    # calibrated: mean confidence close to accuracy
    accuracy = float(np.mean(probabilities.argmax(axis=1) == targets))
    assert abs(float(probabilities.max(axis=1).mean()) - accuracy) < 0.05


def test_word_view_trains_and_round_trips(
    train_rows: list[tuple[str, str]], tmp_path: Path
) -> None:
    texts, labels = zip(*train_rows, strict=True)
    config = TrainConfig(features=FeatureConfig(word_ngrams=(1, 2)))
    model = TextClassifier.train(list(texts), list(labels), encoder=None, config=config)
    model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m", encoder=None)
    held_out = [text for text, _ in HELD_OUT]
    assert loaded.parts.featurizer.config.word_ngrams == (1, 2)
    np.testing.assert_array_equal(loaded.probabilities(held_out), model.probabilities(held_out))


def test_evaluate_counts_unmapped_as_wrong_and_averages_gold_labels() -> None:
    gold = ["a", "a", "b", "b"]
    ranked: list[list[str | None]] = [["a", "b"], [None, "a"], ["b"], ["a", "b"]]
    report = evaluate(gold, ranked, [1.0, 2.0, 3.0, 4.0])
    assert report.accuracy == pytest.approx(0.5)
    assert report.top3 == pytest.approx(1.0)
    # a: precision 1/2, recall 1/2; b: precision 1, recall 1/2
    assert report.macro_f1 == pytest.approx((0.5 + 2 / 3) / 2)
    assert ("a", "(unmapped)", 1) in report.confused
    assert report.p50_ms == pytest.approx(2.5)
    text = format_report(report)
    assert "macro-F1=0.5833" in text
    assert "a -> (unmapped): 1" in text


def test_evaluate_rejects_empty_and_mismatched_input() -> None:
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate([], [])
    with pytest.raises(ValueError, match="2 gold labels but 1"):
        evaluate(["a", "b"], [["a"]])


def test_roll_up_sums_and_keeps_unmapped_mass_apart() -> None:
    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    parent = {"0101": "01", "0102": "01"}
    summed, targets = roll_up(probabilities, ["0101", "0102", "0201"], parent.get)
    assert targets == ("01", None)
    np.testing.assert_allclose(summed, [[0.8, 0.2], [0.2, 0.8]])
    ranked = ranked_targets(probabilities, ["0101", "0102", "0201"], parent.get)
    assert ranked == [["01", None], [None, "01"]]


def test_two_label_model(train_rows: list[tuple[str, str]]) -> None:
    rows = [(text, label) for text, label in train_rows if label in {"water", "bus"}]
    texts, labels = zip(*rows, strict=True)
    model = TextClassifier.train(list(texts), list(labels), encoder=None)
    water, bus = model.predict(["西郊新村停水两天了", "公交车班次太少"])
    assert (water.top.label, bus.top.label) == ("water", "bus")
    assert water.suggestions[0].score + water.suggestions[1].score == pytest.approx(1.0)
