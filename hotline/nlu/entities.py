"""Entity extraction with offsets into the normalized text.

Kinds and values: ``mobile`` / ``landline`` (digits only, no country prefix, no extension),
``id_card`` (upper-case, only when the GB 11643 checksum and the birth date are valid: a number
that fails is still masked by ``masking`` but is not reported as an ID, so nothing downstream
trusts a mistyped number), ``plate`` (``粤B12345``, upper-case, separator removed), ``email``
(lower-case), ``money`` (decimal amount in yuan), ``datetime`` (see ``timeexpr``), and the place
kinds of ``places``.

Non-place entities never overlap: when two candidates collide the more specific kind wins
(id_card, email, mobile, landline, plate, money, datetime) and then the longer span. Place
entities may overlap each other (an address contains its road) but not a non-place entity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from hotline.nlu.gazetteer import Gazetteer
from hotline.nlu.numerals import cn_digits_to_ascii, parse_number
from hotline.nlu.places import PlaceMatcher
from hotline.nlu.timeexpr import find_times
from hotline.nlu.types import Entity

__all__ = ["EntityExtractor", "id_card_is_valid"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_CN_D = "零〇一二两三四五六七八九幺"

_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[ -]?)?(?P<n>1[3-9]\d(?:[ -]?\d){8})(?!\d)")
_MOBILE_CN = re.compile(rf"(?<![{_CN_D}])(?P<n>[一幺][三四五六七八九][{_CN_D}]{{9}})(?![{_CN_D}])")
_LANDLINE = re.compile(
    r"(?<!\d)[(（]?(?P<n>(?:0(?:10|2\d)|0[3-9]\d{2})[)）]?[ -]?\d{3,4}[ -]?\d{4})"
    r"(?:(?:转|分机|-)\d{1,6})?(?!\d)"
)
_ID_CARD = re.compile(r"(?<!\d)(?P<n>\d{17}[\dXx]|\d{15})(?![\dA-Za-z])")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?P<n>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_LETTER = "A-HJ-NP-Za-hj-np-z"
_PLATE = re.compile(
    r"(?P<p>[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼])"
    rf"(?P<l>[{_LETTER}])[·•・. -]?"
    rf"(?P<r>[{_LETTER}0-9]{{5,6}}|[{_LETTER}0-9]{{4}}[挂学警港澳])(?![A-Za-z0-9])"
)
_CN_AMOUNT = r"[零〇一二两三四五六七八九十百千万亿]+(?:点[零〇一二三四五六七八九]+)?"
_AMOUNT = rf"(?:\d+(?:\.\d+)?|{_CN_AMOUNT})"
_MONEY = (
    re.compile(r"(?:[¥￥]|RMB|人民币)\s?(?P<n>\d+(?:\.\d+)?)(?P<u>[万千]?)(?:元|块钱|块)?"),
    re.compile(
        rf"(?P<n>{_AMOUNT})(?P<u>[万千百]?)"
        r"(?:元(?![一二三]次|旦|宵|素|化|首|老|帅)|块钱|圆|人民币"
        r"|块(?=$|[^\u4e00-\u9fff]|[的多左呢啊吧了一二两三四五六七八九]))"  # 两块砖 is not money
        r"(?:(?P<j>[一二两三四五六七八九])(?:[毛角]钱?)?(?![\u4e00-\u9fff]))?"
    ),
    re.compile(
        r"(?<=罚款|押金|工资|欠款|赔偿|退款|收费|花了|交了|收了|要了|欠了|赔了|价格|费用|月薪|房租)"
        r"(?P<n>\d+(?:\.\d+)?)(?P<u>[万千]?)(?![\d.个天年月日号次人岁条件])"
    ),
)
_PRIORITY = {"id_card": 0, "email": 1, "mobile": 2, "landline": 3, "plate": 4, "money": 5}


def id_card_is_valid(number: str) -> bool:
    """True for an 18-character GB 11643 number with a valid checksum and birth date, or a
    15-digit legacy number with a valid birth date."""
    number = number.upper()
    if len(number) == 15 and number.isdigit():
        return _birth_date_ok("19" + number[6:12])
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11] == number[17] and _birth_date_ok(number[6:14])


def _birth_date_ok(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1900, 1, 1) <= born


def _digits(text: str) -> str:
    return "".join(ch for ch in cn_digits_to_ascii(text) if ch.isdigit())


def _money_value(match: re.Match[str]) -> str | None:
    try:
        amount = parse_number(match["n"] + (match["u"] or ""))
    except ValueError:
        return None
    jiao = match.groupdict().get("j")
    if jiao:
        amount += Decimal(int(cn_digits_to_ascii(jiao))) / 10
    return f"{amount.normalize():f}" if amount > 0 else None


def _candidates(text: str, now: datetime) -> Iterator[Entity]:
    """Every non-place candidate, overlapping ones included."""
    for match in _ID_CARD.finditer(text):
        if id_card_is_valid(match["n"]):
            yield Entity("id_card", match.group(0), match.start(), match.end(), match["n"].upper())
    for match in _EMAIL.finditer(text):
        yield Entity("email", match.group(0), match.start(), match.end(), match["n"].lower())
    for pattern in (_MOBILE, _MOBILE_CN):
        for match in pattern.finditer(text):
            yield Entity("mobile", match.group(0), match.start(), match.end(), _digits(match["n"]))
    for match in _LANDLINE.finditer(text):
        yield Entity("landline", match.group(0), match.start(), match.end(), _digits(match["n"]))
    for match in _PLATE.finditer(text):
        if sum(ch.isdigit() for ch in match["r"]) >= 2:
            value = (match["p"] + match["l"] + match["r"]).upper()
            yield Entity("plate", match.group(0), match.start(), match.end(), value)
    for pattern in _MONEY:
        for match in pattern.finditer(text):
            value = _money_value(match)
            if value is not None:
                yield Entity("money", match.group(0), match.start(), match.end(), value)
    for mention in find_times(text, now):
        span = text[mention.start : mention.end]
        yield Entity("datetime", span, mention.start, mention.end, mention.value)


def _overlaps(entity: Entity, others: list[Entity]) -> bool:
    return any(entity.start < o.end and o.start < entity.end for o in others)


class EntityExtractor:
    """Extracts entities from normalized text; builds its place matcher once."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self._places = PlaceMatcher(gazetteer)

    def extract(self, text: str, now: datetime) -> tuple[Entity, ...]:
        """All entities of ``text`` sorted by start (longer first), dates resolved against now."""
        ranked = sorted(
            _candidates(text, now),
            key=lambda e: (_PRIORITY.get(e.kind, 9), -(e.end - e.start), e.start),
        )
        kept: list[Entity] = []
        for entity in ranked:
            if not _overlaps(entity, kept):
                kept.append(entity)
        ranked_kept = list(kept)
        for place in self._places.find(text):
            entity = Entity(
                place.kind, text[place.start : place.end], place.start, place.end, place.value
            )
            if not _overlaps(entity, ranked_kept):
                kept.append(entity)
        return tuple(sorted(kept, key=lambda e: (e.start, -(e.end - e.start))))
