"""Fixtures for the NLU tests: one warmed-up analyzer per session (jieba loads in ~1 s)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hotline.nlu.analyzer import Analyzer
from hotline.nlu.gazetteer import Gazetteer, load_gazetteer
from hotline.nlu.timeexpr import CHINA_TZ

# A Sunday, so that week arithmetic (上周三, 下周一) is checked across a week boundary.
FIXED_NOW = datetime(2026, 11, 22, 10, 30, tzinfo=CHINA_TZ)


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    built = Analyzer(now=lambda: FIXED_NOW)
    built.warm_up()
    return built
