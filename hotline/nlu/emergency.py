"""Detect messages that belong to an emergency line (110 / 119 / 120 / 122), recall first.

Every trigger phrase (``emergency_lexicon``) describes an event: 着火了, 有人晕倒, 持刀, 撞车了.
Nouns that merely name the services or their equipment (120, 救护车, 消防通道, 灭火器, 消防栓)
are not triggers, so enquiries and complaints about them never fire. A trigger is dropped only
when its own context says it is not happening now.

Never overridden:

* negation just before it (没着火, 没有人受伤), hazard talk right after it (火灾隐患, 着火风险,
  溺水安全教育), a prevention campaign (防溺水), nuisance smoke (油烟, 烟囱, 烧烤, 烧垃圾 … 冒烟).

Overridden by a cry for help within 30 characters (救命, 快来, 赶紧, 正在, 还在…):

* a hypothetical (如果, 万一, 会不会, 容易引起, 一旦, 差点) or fear right before it (担心被困);
* hearsay and the news (听说, 新闻里说), or an animal as the victim (我家的狗被车撞了);
* the past (去年, 以前, 上次, 昨天, a written date, or 过 right after the verb: 被打过);
* a habit (经常, 天天, 多次, 几起), also inside the phrase itself; already resolved (已经扑灭,
  已经送医院了);
* an enquiry in the same clause (咨询, 收费, 报销, 理赔, 在哪里, 谁负责…), or a safety-knowledge
  question when the trigger is not followed by 了 (溺水的自救方法, 火灾逃生口诀; a bare 怎么办
  does not count: 厨房着火怎么办 from a caller is a fire);
* for strong triggers, a complaint in the same clause (被同学打了 学校不管);
* for weak triggers (火灾, 车祸, 心脏病, 报警, 威胁…), any of these anywhere in the message,
  or a question, a report, a suggestion or praise.

A written petition (留言: over 60 characters with 建议 / 希望 / 投诉 / 领导…) narrates rather than
calls for help, so all its triggers are held to the weak rules and only an explicit cry (救命,
快来, 来人…) overrides. When several lines fire, the order is 119, 110, 122, 120, except that
someone trapped (or pinned) in a crash goes to 122, someone locked up by a person goes to 110,
self-harm already done (喝了农药, 吃了一瓶安眠药) goes to 120 rather than 110 for the intent,
and a vehicle that 冲进 somewhere is an accident (122), not an intruder (110). A cry for help
that is the only trigger yields to an everyday hyperbole (救命 这个卡怎么都激活不了 急死了).
Measured recall and false-positive rates: ``bench/nlu_emergency_eval.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from hotline.nlu.emergency_lexicon import FALLBACK, TRIGGERS
from hotline.nlu.types import Emergency

__all__ = ["EmergencyHit", "detect_emergency"]

_COMPILED = tuple((service, strong, re.compile(p)) for service, strong, p in TRIGGERS)
_FALLBACK = tuple((service, re.compile(p)) for service, p in FALLBACK)
_FALLBACK_MAX_CHARS = 50
_EVENT_MARK = re.compile(r"了|在|着|突然|刚才|刚刚|好多|全是|好像|一直")
# Smoke that is a nuisance (restaurant fumes, a chimney, a barbecue) is a complaint, not a fire.
_SMOKE_NUISANCE = re.compile(r"油烟|烟囱|污染|烧烤|排放|抽烟|吸烟|烧纸|秸秆|扰民|垃圾|呛人")
_RESCUE = re.compile(
    r"被困|困在|困住|卡在.*|(?:头|手|脚|腿)卡(?:在|住)|关起来|(?:压|埋)在.*|被(?:压|埋)住"
)
#: intent alone (110) yields to harm already done (吃了药, 喝了农药: 120)
_SELF_HARM_INTENT = re.compile(r"不想活了|自杀|(?<!减)轻生|跳楼|跳河")
#: a cry for help with nothing else said, and the hyperbole that makes it figurative
_BARE_CRY = re.compile(r"救命|救救我")
_HYPERBOLE = re.compile(r"[急烦气愁吵热累笑饿困]死(?:我|人)?了?|要疯了|快疯了|崩溃")
_ORDER = (Emergency.FIRE, Emergency.POLICE, Emergency.TRAFFIC, Emergency.AMBULANCE)

_CLAUSE_END = re.compile(r"[，,。.！!？?；;]")
_NEGATION = re.compile(r"(?:没有|没|并未|未|不是|不会|不要|别|无)(?:有人|人|在|再|发生)?$")
_HYPOTHETICAL = re.compile(
    r"隐患|如果|万一|假如|假设|要是|一旦|会不会|会(?:引起|引发|造成|导致|有|被)|就会|否则|不然|容易|"
    r"可能会|防止|预防|避免|以免|以防|谨防|防范|演练|演习|培训|宣传|知识|应急预案|差点|差一点|险些|"
    r"极易|易(?:引|造|发|燃|爆)|如遇|如发生|若|遇到|遭遇|遇上"
)
_FEAR = re.compile(r"担心|害怕|生怕|怕")
_FEAR_ADJACENT = re.compile(r"(?:担心|害怕|生怕|怕)(?:会|被|要)?$")
_HAZARD_AFTER = re.compile(r"隐患|风险|演练|演习|预案|知识|宣传|培训|问题|教育|讲座")
# Prevention campaigns name the danger right after 防 (防溺水, 防火): 消防 is the service.
_PREVENTION = re.compile(r"(?<!消)防$")
_PAST = re.compile(
    r"去年|前年|以前|之前|上次|上回|曾经|当年|那次|上个月|前几天|前段时间|年前|月前|小时候|当时|过去|"
    r"昨天|前天|昨晚|上周|上星期|\d{2,4}年|\d{1,2}月\d{1,2}[日号]|事后|后来"
)
_EVENT_NOUN_AFTER = re.compile(r"^(?:的)?(?:危险|事故|事件|案件|的事|问题|损失|后果|情况)")
_WOULD = re.compile(r"(?<!不)会$")
_PAST_AFTER = re.compile(r"^过(?!来|去了|去啦)|^的(?:那|这)(?:栋|个|次|家|辆|条|件|场)")
_RESOLVED = re.compile(
    r"已经(?:扑灭|灭了|被?救出|送(?:到)?医院|没事|处理完|抓到)|(?<!有)没事(?!吧|吗)|已经好了"
)
_ENQUIRY = re.compile(
    r"咨询|查询|怎么查|认定|收费|费用|多少钱|标准|报销|理赔|保险|流程|手续|规定|政策|赔偿|鉴定|证明|"
    r"怎么申请|电话是|号码是|是多少|是真的吗|真的假的|医保|能报|补贴|康复|在哪里|去哪|哪里可以|申请|"
    r"哪里能|在哪|重建|维修|修复|赔|多久|一般|谁负责|谁来管|谁管|"
    r"(?:能不能|可不可以|能否|可以)(?:退|报|补|免|减)"
)
_QUESTION = re.compile(r"能不能|可不可以|能否|是否|吗|呢|如何|怎么|怎样|哪些|什么")
# Safety-knowledge questions (溺水的自救方法, 火灾如何应对) when the trigger is not followed by
# 了. A bare 怎么办 is not among them: 厨房着火怎么办 from a caller is a fire.
_KNOWLEDGE = re.compile(r"应对|逃生|自救|方法|措施|指南|常识|要点|口诀|是否|误区|特点|成因")
_HAPPENED = re.compile(r"^(?:了|啦|嘞|喽)")
_HABIT = re.compile(
    r"经常|总是|总有|老是|老有|天天|每天|常常|屡次|整天|一直有|多次|"
    r"[一两二三四五几数多\d]起|[两三四五几数多\d]次"
)
_PETITION = re.compile(
    r"举报|投诉|反映|建议|希望|请求|要求|呼吁|领导|表扬|感谢|不负责|不管|监控|物业"
)
_CRY = re.compile(r"救命|快来|快点|赶紧|赶快|马上|正在|快救|快叫|快报警|来人|还在|又在|求求")
_STRONG_CRY = re.compile(r"救命|快来|快点来|来人|快救|快叫|快报警|求求")
_PETITION_LENGTH = 60
_CRY_REACH = 30  # a cry for help counts for triggers this many characters away


@dataclass(frozen=True)
class EmergencyHit:
    """The emergency line to hand over to and the phrase that fired."""

    service: Emergency
    reason: str


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    before = [m.end() for m in _CLAUSE_END.finditer(text, 0, start)]
    after = _CLAUSE_END.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def _context(text: str, match: re.Match[str]) -> tuple[str, str, str]:
    """The clause around a trigger, the 12 characters before it and the 15 after it."""
    clause_start, clause_end = _clause_bounds(text, match.start(), match.end())
    before = text[max(clause_start, match.start() - 12) : match.start()]
    after = text[match.end() : min(clause_end, match.end() + 15)]
    return text[clause_start:clause_end], before, after


def _not_happening(text: str, match: re.Match[str]) -> bool:
    """Context that no cry for help can override: negation, hazard talk, nuisance smoke."""
    _, before, after = _context(text, match)
    nuisance = "烟" in match.group(0) and bool(_SMOKE_NUISANCE.search(text))
    prevention = _PREVENTION.search(before)
    return bool(_NEGATION.search(before) or prevention or _HAZARD_AFTER.search(after) or nuisance)


# Hearsay, the news and animals: 听说有人着火了, 新闻里说化工厂爆炸了, 我家的狗被车撞了.
_HEARSAY_OR_ANIMAL = re.compile(
    r"听说|据说|群里说|网上说|新闻|报道|电视上|视频里|朋友圈|的(?:狗|猫|宠物)|(?:狗|猫|宠物)被"
)
_BEFORE_NOT_NOW = (_HYPOTHETICAL, _PAST, _HABIT, _FEAR_ADJACENT, _WOULD, _HEARSAY_OR_ANIMAL)
_AFTER_NOT_NOW = (_PAST_AFTER, _EVENT_NOUN_AFTER)
# A bare noun (火灾, 车祸, 报警…) fires only in a message that reads as a live event.
_WEAK_TEXT_NOT_NOW = (_ENQUIRY, _QUESTION, _HABIT, _PETITION, _PAST, _HYPOTHETICAL)


def _not_now(text: str, match: re.Match[str], strong: bool) -> bool:
    """Context that places the event in the past, in a hypothesis, a habit or an enquiry."""
    clause, before, after = _context(text, match)
    if _RESOLVED.search(text, match.end()) or _ENQUIRY.search(clause):
        return True
    if not _HAPPENED.search(after) and _KNOWLEDGE.search(text):
        return True
    if any(p.search(before) for p in _BEFORE_NOT_NOW) or any(
        p.search(after) for p in _AFTER_NOT_NOW
    ):
        return True
    if _HABIT.search(match.group(0)):
        return True  # a phrase with a gap can hold the habit itself: 山上老有石头滚下来
    if strong:
        # "被同学打了 学校不管": an event told to complain about someone is not under way.
        return bool(_PETITION.search(clause))
    return bool(_FEAR.search(before)) or any(p.search(text) for p in _WEAK_TEXT_NOT_NOW)


def _crying(text: str, match: re.Match[str], petition: bool) -> bool:
    window = text[max(0, match.start() - _CRY_REACH) : match.end() + _CRY_REACH]
    return bool((_STRONG_CRY if petition else _CRY).search(window))


def _hits(text: str) -> Iterator[EmergencyHit]:
    # A long written petition (留言) narrates and argues; its events are not happening now
    # unless it cries for help, so every trigger in it is held to the weak-trigger rules.
    petition = len(text) > _PETITION_LENGTH and bool(_PETITION.search(text))
    for service, strong_phrase, pattern in _COMPILED:
        strong = strong_phrase and not petition
        for match in pattern.finditer(text):
            if _not_happening(text, match):
                continue
            if _not_now(text, match, strong) and not _crying(text, match, petition):
                continue
            yield EmergencyHit(service, match.group(0))


def _fallback_hits(text: str) -> Iterator[EmergencyHit]:
    """Single danger morphemes in a short message, next to an event marker, weak rules."""
    if len(text) > _FALLBACK_MAX_CHARS:
        return
    # Inside a phrase the lexicon knows (没着火 was dismissed on purpose) a morpheme says nothing.
    known = [m.span() for _, _, pattern in _COMPILED for m in pattern.finditer(text)]
    for service, pattern in _FALLBACK:
        for match in pattern.finditer(text):
            if any(start <= match.start() < end for start, end in known):
                continue
            near = text[max(0, match.start() - 4) : match.end() + 4]
            if not _EVENT_MARK.search(near) or _not_happening(text, match):
                continue
            if _not_now(text, match, False) and not _crying(text, match, False):
                continue
            yield EmergencyHit(service, match.group(0))


def detect_emergency(text: str) -> EmergencyHit | None:
    """The emergency a normalized message describes, or None for a 12345 matter."""
    found: dict[Emergency, EmergencyHit] = {}
    for hit in _hits(text):
        found.setdefault(hit.service, hit)
    if not found:
        for hit in _fallback_hits(text):
            found.setdefault(hit.service, hit)
    police = found.get(Emergency.POLICE)
    if police is not None and len(found) == 1 and _BARE_CRY.fullmatch(police.reason):
        # 救命啊 这个社保卡怎么都激活不了 急死我了: a cry alone, next to an everyday hyperbole.
        return None if _HYPERBOLE.search(text) else police
    return _leading(found)


def _leading(found: dict[Emergency, EmergencyHit]) -> EmergencyHit | None:
    """The line that leads when several fire (119, 110, 122, 120 unless the event says else)."""
    police = found.get(Emergency.POLICE)
    if police is not None and police.reason == "冲进" and Emergency.TRAFFIC in found:
        del found[Emergency.POLICE]  # a lorry that ploughs into a shop: an accident, no intruder
        police = None
    harmed = Emergency.AMBULANCE in found and Emergency.FIRE not in found
    if harmed and police is not None and _SELF_HARM_INTENT.fullmatch(police.reason):
        return found[Emergency.AMBULANCE]
    fire = found.get(Emergency.FIRE)
    if fire is not None and _RESCUE.fullmatch(fire.reason):
        # Trapped in a crashed car: the accident leads (122); held by a person: police (110).
        for other in (Emergency.TRAFFIC, Emergency.POLICE):
            if other in found:
                return found[other]
    return next((found[s] for s in _ORDER if s in found), None)
