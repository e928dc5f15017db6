"""Shared fixtures: the real offline encoder and a small hand-written knowledge base."""

from __future__ import annotations

import pytest

from hotline.encoders.base import Encoder
from hotline.errors import ConfigError
from hotline.knowledge.retrieval.index import HybridIndex
from hotline.knowledge.retrieval.text import TextAnalyzer
from tests.knowledge.small_kb import SMALL_KB


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real USE-multilingual ONNX encoder (the same one the service uses)."""
    from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

    try:
        return UseMultilingualOnnxEncoder()
    except ConfigError as e:
        pytest.skip(f"offline encoder not installed: {e.message}")


@pytest.fixture(scope="session")
def kb_analyzer() -> TextAnalyzer:
    """One analyzer (its jieba dictionary takes most of a second to load) for every index."""
    return TextAnalyzer()


@pytest.fixture(scope="session")
def small_index(encoder: Encoder, kb_analyzer: TextAnalyzer) -> HybridIndex:
    """Built once per session; tests that change an index build their own."""
    return HybridIndex.build(SMALL_KB, encoder=encoder, analyzer=kb_analyzer)


@pytest.fixture
def fresh_index(encoder: Encoder, kb_analyzer: TextAnalyzer) -> HybridIndex:
    """A private index a test may change (15 entries encode in a few milliseconds)."""
    return HybridIndex.build(SMALL_KB, encoder=encoder, analyzer=kb_analyzer)
