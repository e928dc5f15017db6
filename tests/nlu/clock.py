"""The fixed "now" of the NLU tests."""

from __future__ import annotations

from datetime import datetime

from hotline.nlu.timeexpr import CHINA_TZ

# A Sunday, so that week arithmetic (上周三, 下周一) is checked across a week boundary.
FIXED_NOW = datetime(2026, 11, 22, 10, 30, tzinfo=CHINA_TZ)
