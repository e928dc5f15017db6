"""Detect messages that belong to an emergency line (110 / 119 / 120 / 122), recall first.

Every trigger phrase describes an event (着火了, 有人晕倒, 持刀, 撞车了). Nouns that merely name
the services or their equipment (120, 救护车, 消防通道, 灭火器, 消防栓) are not triggers, so
enquiries and complaints about them never fire. A trigger is then dropped only when its own
context says it is not happening now:

* negation just before it (没着火, 没有人受伤);
* a hypothetical or hazard (隐患, 如果, 万一, 会不会, 容易引起, 防止, 担心…);
* the past (去年, 以前, 上次, 曾经…, or the experiential 过 right after the verb: 被打过);
* already resolved (已经扑灭, 已经送医院了);
* for weak triggers (bare nouns such as 火灾, 车祸, 交通事故, 心脏病, 小偷): an enquiry about
  procedure or cost (咨询, 查询, 认定, 收费, 报销, 理赔…), a habit (经常, 天天), or a report.

Past, hypothetical and enquiry context are overridden by a cry for help anywhere in the message
(救命, 快来, 赶紧, 正在…): when in doubt a fire, an assault or a collapse must not wait.
When several lines fire, the order is 119, 110, 122, 120 (each hands over to the others).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from hotline.nlu.emergency_lexicon import TRIGGERS
from hotline.nlu.types import Emergency

__all__ = ["EmergencyHit", "detect_emergency"]

_COMPILED = tuple((service, strong, re.compile(p)) for service, strong, p in TRIGGERS)
# Smoke that is a nuisance (restaurant fumes, a chimney, a barbecue) is a complaint, not a fire.
_SMOKE = re.compile(r"冒烟|冒黑烟|浓烟|烟很大")
_SMOKE_NUISANCE = re.compile(r"油烟|烟囱|污染|烧烤|排放|抽烟|吸烟|烧纸|秸秆|扰民")
_ORDER = (Emergency.FIRE, Emergency.POLICE, Emergency.TRAFFIC, Emergency.AMBULANCE)

_CLAUSE_END = re.compile(r"[，,。.！!？?；;]")
_NEGATION = re.compile(r"(?:没有|没|并未|未|不是|不会|别|无)(?:有人|人|在|再|发生)?$")
_HYPOTHETICAL = re.compile(
    r"隐患|如果|万一|假如|假设|要是|一旦|会不会|会(?:引起|引发|造成|导致|有)|容易|可能会|防止|预防|避免|以免|"
    r"演练|演习|培训|宣传|知识|应急预案"
)
_FEAR = re.compile(r"担心|害怕|生怕|怕")
_FEAR_ADJACENT = re.compile(r"(?:担心|害怕|生怕|怕)(?:会|被|要)?$")
_HAZARD_AFTER = re.compile(r"^(?:的)?(?:隐患|风险|演练|演习|预案|知识|宣传|培训)")
_PAST = re.compile(
    r"去年|前年|以前|之前|上次|上回|曾经|当年|那次|上个月|前几天|前段时间|年前|月前|小时候|当时|过去"
)
_PAST_AFTER = re.compile(r"^过(?!来|去了|去啦)|^的(?:那|这)(?:栋|个|次|家|辆|条|件|场)")
_RESOLVED = re.compile(r"已经(?:扑灭|灭了|被?救出|送(?:到)?医院|没事|处理完|抓到)|没事了|已经好了")
_ENQUIRY = re.compile(
    r"咨询|查询|怎么查|认定|收费|费用|多少钱|标准|报销|理赔|保险|流程|手续|规定|政策|赔偿|鉴定|证明|"
    r"怎么申请|电话是|号码是|是多少"
)
_HABIT = re.compile(r"经常|总是|老是|天天|每天|常常|屡次|整天|一直有|多次")
_REPORT = re.compile(r"举报|投诉|反映|建议")
_CRY = re.compile(r"救命|快来|快点|赶紧|赶快|马上|正在|快救|快叫|快报警|来人|紧急|还在|又在|求求")


@dataclass(frozen=True)
class EmergencyHit:
    """The emergency line to hand over to and the phrase that fired."""

    service: Emergency
    reason: str


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    before = [m.end() for m in _CLAUSE_END.finditer(text, 0, start)]
    after = _CLAUSE_END.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def _dismissed(text: str, match: re.Match[str], strong: bool, crying: bool) -> bool:
    """True when the trigger's context says the event is not happening now."""
    clause_start, clause_end = _clause_bounds(text, match.start(), match.end())
    before = text[max(clause_start, match.start() - 12) : match.start()]
    after = text[match.end() : clause_end]
    if _NEGATION.search(before) or _HAZARD_AFTER.search(after):
        return True
    if _RESOLVED.search(text, match.end()) and not crying:
        return True
    contextual = bool(
        _HYPOTHETICAL.search(before)
        or _PAST.search(before)
        or _HABIT.search(before)
        or _FEAR_ADJACENT.search(before)
        or (not strong and _FEAR.search(before))
        or _PAST_AFTER.search(after)
        or (_SMOKE.fullmatch(match.group(0)) and _SMOKE_NUISANCE.search(text))
    )
    if not strong:
        contextual = contextual or bool(
            _ENQUIRY.search(text) or _HABIT.search(text) or _REPORT.search(text)
        )
    elif _ENQUIRY.search(text[clause_start:clause_end]):
        contextual = True
    return contextual and not crying


def _hits(text: str) -> Iterator[EmergencyHit]:
    crying = bool(_CRY.search(text))
    for service, strong, pattern in _COMPILED:
        for match in pattern.finditer(text):
            if not _dismissed(text, match, strong, crying):
                yield EmergencyHit(service, match.group(0))


def detect_emergency(text: str) -> EmergencyHit | None:
    """The emergency a normalized message describes, or None for a 12345 matter."""
    found: dict[Emergency, EmergencyHit] = {}
    for hit in _hits(text):
        found.setdefault(hit.service, hit)
    return next((found[s] for s in _ORDER if s in found), None)
