"""Training, prediction, calibration and the artifact round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hotline.classifier.artifact import ARRAYS, MANIFEST
from hotline.classifier.model import TextClassifier
from hotline.encoders.base import Encoder, Vectors, normalise_rows
from hotline.errors import ModelError
from tests.classifier.conftest import HELD_OUT


class FakeEncoder:
    """A deterministic stand-in with another name and dimension, for mismatch checks only."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def encode(self, texts: list[str], batch_size: int = 64) -> Vectors:
        rng = np.random.default_rng(len(texts))
        return normalise_rows(rng.normal(size=(len(texts), self.dim)))


def _accuracy(model: TextClassifier) -> float:
    predictions = model.predict([text for text, _ in HELD_OUT])
    return float(
        np.mean([p.top.label == gold for p, (_, gold) in zip(predictions, HELD_OUT, strict=True)])
    )


def test_lexical_model_classifies_unseen_phrasings(lexical_model: TextClassifier) -> None:
    assert lexical_model.labels == ("bus", "insurance", "noise", "water")
    assert _accuracy(lexical_model) >= 0.875


def test_use_model_classifies_unseen_phrasings(use_model: TextClassifier) -> None:
    assert use_model.info.encoder_name == "use-multilingual-v3-onnx"
    assert _accuracy(use_model) >= 0.875


def test_probabilities_are_a_distribution(use_model: TextClassifier) -> None:
    probabilities = use_model.probabilities([text for text, _ in HELD_OUT])
    assert probabilities.shape == (len(HELD_OUT), 4)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_top_k_is_sorted_and_sums_at_most_one(use_model: TextClassifier) -> None:
    for prediction in use_model.predict([text for text, _ in HELD_OUT], top_k=2):
        scores = [s.score for s in prediction.suggestions]
        assert len(scores) == 2
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) <= 1.0 + 1e-9
        assert prediction.top is prediction.suggestions[0]


def test_top_k_larger_than_label_set_is_capped(lexical_model: TextClassifier) -> None:
    (prediction,) = lexical_model.predict(["停水了"], top_k=10)
    assert len(prediction.suggestions) == 4


def test_confident_flag_honours_threshold(lexical_model: TextClassifier) -> None:
    texts = [text for text, _ in HELD_OUT]
    top_scores = [p.top.score for p in lexical_model.predict(texts)]
    original = lexical_model.threshold
    try:
        for threshold in (0.0, float(np.median(top_scores)), 1.01):
            lexical_model.threshold = threshold
            for prediction in lexical_model.predict(texts):
                assert prediction.confident == (prediction.top.score >= threshold)
    finally:
        lexical_model.threshold = original


def test_unrelated_text_is_not_confident(use_model: TextClassifier) -> None:
    (related,) = use_model.predict(["小区停水了，自来水什么时候恢复"])
    (unrelated,) = use_model.predict(["今天天气不错"])
    assert related.top.label == "water"
    assert unrelated.top.score < related.top.score


def test_training_needs_two_labels() -> None:
    with pytest.raises(ValueError, match="two distinct labels"):
        TextClassifier.train(["停水了", "没水了"], ["water", "water"], encoder=None)


def test_round_trip_gives_identical_predictions(
    use_model: TextClassifier, saved_use_model: Path, use_encoder: Encoder
) -> None:
    loaded = TextClassifier.load(saved_use_model, encoder=use_encoder)
    texts = [text for text, _ in HELD_OUT]
    assert loaded.labels == use_model.labels
    assert loaded.threshold == use_model.threshold
    assert loaded.info.data_hash == use_model.info.data_hash
    np.testing.assert_array_equal(loaded.probabilities(texts), use_model.probabilities(texts))
    assert loaded.predict(texts) == use_model.predict(texts)


def test_manifest_records_provenance(saved_use_model: Path) -> None:
    manifest = json.loads((saved_use_model / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format_version"] == 2
    assert manifest["labels"] == ["bus", "insurance", "noise", "water"]
    assert manifest["encoder"] == {"name": "use-multilingual-v3-onnx", "dim": 512, "max_chars": 160}
    assert manifest["taxonomy_version"] is None
    assert len(manifest["data_hash"]) == 16
    assert manifest["created_at"].endswith("+00:00")


def test_lexical_round_trip(lexical_model: TextClassifier, tmp_path: Path) -> None:
    lexical_model.save(tmp_path / "m")
    loaded = TextClassifier.load(tmp_path / "m", encoder=None)
    assert loaded.predict(["公交车晚点"]) == lexical_model.predict(["公交车晚点"])


@pytest.fixture
def artifact_copy(saved_use_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(saved_use_model, copy)
    return copy


def _edit_manifest(path: Path, **changes: object) -> None:
    manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    manifest.update(changes)
    (path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_load_rejects_missing_artifact(tmp_path: Path, use_encoder: Encoder) -> None:
    with pytest.raises(ModelError, match="no classifier artifact"):
        TextClassifier.load(tmp_path / "nothing", encoder=use_encoder)


def test_load_rejects_corrupt_arrays(artifact_copy: Path, use_encoder: Encoder) -> None:
    data = bytearray((artifact_copy / ARRAYS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (artifact_copy / ARRAYS).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        TextClassifier.load(artifact_copy, encoder=use_encoder)


def test_load_rejects_garbled_manifest(artifact_copy: Path, use_encoder: Encoder) -> None:
    (artifact_copy / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="unreadable"):
        TextClassifier.load(artifact_copy, encoder=use_encoder)


def test_load_rejects_other_format_version(artifact_copy: Path, use_encoder: Encoder) -> None:
    _edit_manifest(artifact_copy, format_version=99)
    with pytest.raises(ModelError, match="format version 99"):
        TextClassifier.load(artifact_copy, encoder=use_encoder)


def test_load_rejects_other_encoder(artifact_copy: Path) -> None:
    with pytest.raises(ModelError, match="trained with encoder 'use-multilingual-v3-onnx'"):
        TextClassifier.load(artifact_copy, encoder=FakeEncoder("other", 512))
    with pytest.raises(ModelError, match="needs the encoder"):
        TextClassifier.load(artifact_copy, encoder=None)


def test_load_rejects_encoder_for_lexical_model(
    lexical_model: TextClassifier, tmp_path: Path
) -> None:
    lexical_model.save(tmp_path / "m")
    with pytest.raises(ModelError, match="without an encoder"):
        TextClassifier.load(tmp_path / "m", encoder=FakeEncoder("other", 8))


def test_load_rejects_taxonomy_mismatch(artifact_copy: Path, use_encoder: Encoder) -> None:
    _edit_manifest(artifact_copy, taxonomy_version="aaaaaaaaaaaa")
    loaded = TextClassifier.load(
        artifact_copy, encoder=use_encoder, expected_taxonomy_version="aaaaaaaaaaaa"
    )
    assert loaded.info.taxonomy_version == "aaaaaaaaaaaa"
    with pytest.raises(ModelError, match="taxonomy version 'aaaaaaaaaaaa'"):
        TextClassifier.load(artifact_copy, encoder=use_encoder, expected_taxonomy_version="bbb")


def test_save_replaces_existing_artifact(lexical_model: TextClassifier, tmp_path: Path) -> None:
    target = tmp_path / "m"
    target.mkdir()
    (target / "stale.txt").write_text("old", encoding="utf-8")
    lexical_model.save(target)
    assert sorted(p.name for p in target.iterdir()) == [ARRAYS, MANIFEST]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
