"""Fixtures for the NLU tests: one warmed-up analyzer per session (jieba loads in ~1 s)."""

from __future__ import annotations

import pytest

from hotline.nlu.analyzer import Analyzer
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from tests.nlu.clock import FIXED_NOW


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    built = Analyzer(now=lambda: FIXED_NOW)
    built.warm_up()
    return built
