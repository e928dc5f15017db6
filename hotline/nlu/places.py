"""Place names and addresses: gazetteer hits plus address patterns (幸福路12号, 阳光小区3栋…).

Gazetteer hits give kinds ``district``, ``street``, ``community``, ``road`` and ``landmark`` with
the canonical name as value. Pattern hits give kind ``address`` with the matched text as value;
they may contain a gazetteer road (``望江路12号`` yields both ``road`` and ``address``), which
routing wants. Names outside the gazetteer are found only through the patterns, whose leading
edge is trimmed at function words so that ``我家住在幸福路12号`` gives ``幸福路12号``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hotline.nlu.gazetteer import Gazetteer

__all__ = ["PlaceMatcher", "PlaceMention"]

_HAN = r"[\u4e00-\u9fff]"
_NO = r"(?:\d{1,5}|[零〇一二两三四五六七八九十百]{1,4})"
_ROAD_SUFFIX = r"(?:大道|大街|路|街|巷|弄|胡同)"
_ESTATE_SUFFIX = r"(?:小区|花园|家园|公寓|新村|苑|大厦|公馆|华庭)"
_BUILDING = rf"{_NO}(?:栋|幢|座|号楼|号院)(?:{_NO}单元)?(?:{_NO}(?:楼|层))?(?:{_NO}(?:室|号|户))?"

_PATTERNS = (
    re.compile(rf"(?P<a>{_HAN}{{1,5}}{_ROAD_SUFFIX})(?:与|和|跟|、)(?P<b>{_HAN}{{1,5}}{_ROAD_SUFFIX})"
               r"的?(?:交叉口|交叉路口|十字路口|路口|交汇处)"),
    re.compile(rf"(?P<a>{_HAN}{{1,6}}{_ESTATE_SUFFIX})(?:{_BUILDING})?"),
    re.compile(rf"(?P<a>{_HAN}{{1,5}}{_ROAD_SUFFIX}){_NO}号"
               rf"(?:{_HAN}{{0,6}}{_ESTATE_SUFFIX})?(?:{_BUILDING})?"),
    re.compile(rf"(?P<a>{_HAN}{{2,4}}村)(?:{_NO}(?:组|号))?"),
)  # fmt: skip
# Characters that cannot start a place name: verbs and particles that precede one in speech.
_LEAD_STOPS = set("在住于到的是从往去向近靠对把给和与及跟我你他她们了就这那个里边旁附")
_STOP_WORDS = (
    "门口", "对面", "旁边", "附近", "楼下", "里面", "我家", "你家", "他家", "她家", "住家",
    "投诉", "举报", "反映", "地址", "位于", "经过", "路过", "请问", "就是", "报警", "求助",
)  # fmt: skip
_NOT_PLACES = {"农村", "乡村", "山村", "渔村", "新农村", "城中村", "小区", "花园", "公寓", "大厦"}


@dataclass(frozen=True)
class PlaceMention:
    """A place span with its kind and canonical value."""

    kind: str
    start: int
    end: int
    value: str


def _trim_start(text: str, start: int, name_end: int) -> int:
    """Move ``start`` past function words so the place name begins at its own first character."""
    cut = start
    for stop in _STOP_WORDS:
        found = text.rfind(stop, start, name_end)
        if found >= 0:
            cut = max(cut, found + len(stop))
    for i in range(name_end - 2, cut - 1, -1):
        if text[i] in _LEAD_STOPS:
            return i + 1
    return cut


class PlaceMatcher:
    """Finds gazetteer names (longest first) and pattern addresses in normalized text."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = {p.surface: p for p in gazetteer.place_names()}
        surfaces = sorted(self._places, key=len, reverse=True)
        self._names = re.compile("|".join(map(re.escape, surfaces))) if surfaces else None

    def gazetteer_hits(self, text: str) -> list[PlaceMention]:
        """Every gazetteer name in ``text``, longest match at each position, no overlaps."""
        if self._names is None:
            return []
        hits = []
        for match in self._names.finditer(text):
            place = self._places[match.group(0)]
            hits.append(PlaceMention(place.kind, match.start(), match.end(), place.canonical))
        return hits

    def pattern_hits(self, text: str, known: Sequence[PlaceMention] = ()) -> list[PlaceMention]:
        """Addresses found by pattern, trimmed at leading function words; a pattern whose name
        ends with a known place (``我要投诉幸福路12号``) starts where that place starts."""
        hits = []
        for pattern in _PATTERNS:
            for match in pattern.finditer(text):
                start = _trim_start(text, match.start(), match.end("a"))
                for place in known:
                    if place.end == match.end("a") and match.start() <= place.start:
                        start = place.start
                span = text[start : match.end()]
                if match.end("a") - start < 2 or span in _NOT_PLACES:
                    continue
                hits.append(PlaceMention("address", start, match.end(), span))
        return _drop_nested(hits)

    def find(self, text: str) -> list[PlaceMention]:
        """Gazetteer hits and pattern addresses, sorted by position."""
        known = self.gazetteer_hits(text)
        patterns = self.pattern_hits(text, known)
        found = known + [_after_known(hit, known, text) for hit in patterns]
        return sorted(found, key=lambda m: (m.start, -(m.end - m.start)))


def _after_known(hit: PlaceMention, known: list[PlaceMention], text: str) -> PlaceMention:
    """Start a pattern address after a gazetteer name it begins inside (区南湖路… → 南湖路…)."""
    start = hit.start
    for place in known:
        if place.start < start < place.end:
            start = place.end
    if start == hit.start or hit.end - start < 2:
        return hit
    return PlaceMention(hit.kind, start, hit.end, text[start : hit.end])


def _drop_nested(hits: list[PlaceMention]) -> list[PlaceMention]:
    """Keep the longest of overlapping pattern addresses."""
    kept: list[PlaceMention] = []
    for hit in sorted(hits, key=lambda h: -(h.end - h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return kept
