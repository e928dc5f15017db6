"""Reading a citizen's satisfaction answer: a key (1/2/3) or their own words.

Deliberately narrow, like the intake's cues: a message is a rating only when it starts with
one and says little else before it, so "路灯还是不亮" is not read as an answer (it goes to
the intake as a new message) while "不满意，路灯还是不亮" is a rating with its reason.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hotline.storage.models import Rating

LABELS = {Rating.SATISFIED: "满意", Rating.BASIC: "基本满意", Rating.UNSATISFIED: "不满意"}
KEYS = {"1": Rating.SATISFIED, "2": Rating.BASIC, "3": Rating.UNSATISFIED}
#: ratings that count as satisfied in the satisfaction rate (满意率)
CONTENT = frozenset({Rating.SATISFIED, Rating.BASIC})

# Longest first: "基本满意" and "不满意" both end in "满意".
_WORDS: tuple[tuple[str, Rating], ...] = tuple(
    sorted(
        {
            "非常不满意": Rating.UNSATISFIED,
            "很不满意": Rating.UNSATISFIED,
            "不太满意": Rating.UNSATISFIED,
            "不满意": Rating.UNSATISFIED,
            "不满": Rating.UNSATISFIED,
            "没解决": Rating.UNSATISFIED,
            "没有解决": Rating.UNSATISFIED,
            "未解决": Rating.UNSATISFIED,
            "基本满意": Rating.BASIC,
            "比较满意": Rating.BASIC,
            "还算满意": Rating.BASIC,
            "一般": Rating.BASIC,
            "还行": Rating.BASIC,
            "还可以": Rating.BASIC,
            "非常满意": Rating.SATISFIED,
            "很满意": Rating.SATISFIED,
            "十分满意": Rating.SATISFIED,
            "满意": Rating.SATISFIED,
        }.items(),
        key=lambda item: -len(item[0]),
    )
)
_LEAD = re.compile(r"^(?:我|我们|本人|对此|对结果|对处理结果|评价|回复|答)*[:：]?")
_SEPARATORS = " \t\r\n,，。.!！;；:：、~～…-—"
_PARTICLES = "的了吧啊呀哦谢"


@dataclass(frozen=True)
class Answer:
    rating: Rating
    #: what the citizen wrote after the rating (their reason), if anything
    reason: str | None = None


def read_answer(text: str, *, keys: bool = True) -> Answer | None:
    """The rating ``text`` gives, or None when it is not an answer to the survey.

    ``keys`` allows a bare 1 / 2 / 3 (full-width digits too); leave it off where a digit may
    answer something else (a "did you mean" choice in progress).
    """
    compact = unicodedata.normalize("NFKC", text).strip().strip(_SEPARATORS)
    if not compact:
        return None
    if keys and compact in KEYS:
        return Answer(KEYS[compact])
    if keys and compact[0] in KEYS and compact[1:2] in (*_SEPARATORS, "分"):
        return Answer(KEYS[compact[0]], _reason(compact[1:].lstrip("分")))
    body = _LEAD.sub("", compact, count=1)
    for word, rating in _WORDS:
        if not body.startswith(word):
            continue
        rest = body[len(word) :]
        # "满意度怎么查" or "一般来说…" are not answers; "不满意路灯还没修" is one.
        loose = rating == Rating.UNSATISFIED and len(word) >= 3  # not "不满足条件"
        if rest and rest[0] not in _SEPARATORS + _PARTICLES and not loose:
            return None
        return Answer(rating, _reason(rest))
    return None


def _reason(rest: str) -> str | None:
    rest = rest.strip(_SEPARATORS)
    rest = re.sub(f"^[{_PARTICLES[:-1]}]+", "", rest).strip(_SEPARATORS)
    if rest in ("", "谢谢", "谢谢你", "谢谢您", "谢谢你们", "感谢"):
        return None
    return rest[:1000]


def label(rating: Rating | str) -> str:
    return LABELS[Rating(rating)]
