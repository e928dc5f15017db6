"""Request type (咨询/求助/投诉/举报/建议/表扬/其他), sentiment and urgency from cue phrases.

Each cue has a weight; a cue preceded closely by a negation (不是投诉, 不想举报, 没有建议) does not
count. The type with the highest total wins; ties go to the more serious type (举报 > 投诉 > 求助
> 建议 > 咨询 > 表扬), and a message with no cue is 其他. A polite 谢谢 at the end of a complaint
weighs little, so it does not turn the complaint into praise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hotline.nlu.types import Emergency, RequestType, Sentiment, Urgency

__all__ = ["classify_request_type", "detect_sentiment", "detect_urgency"]

_Cues = tuple[tuple[str, float], ...]

_TYPE_CUES: dict[RequestType, _Cues] = {
    RequestType.REPORT: (
        ("举报", 4.0), ("违法", 1.5), ("违规", 1.0), ("非法", 1.5), ("黑作坊", 2.0), ("无证", 1.5),
        ("传销", 2.0), ("赌博", 2.0), ("偷税", 2.0), ("造假", 1.5), ("假冒", 1.5), ("私自", 0.5),
    ),
    RequestType.COMPLAINT: (
        ("投诉", 4.0), ("反映", 1.5), ("扰民", 1.5), ("没人管", 2.0), ("不作为", 2.0),
        ("态度差", 1.5), ("态度恶劣", 2.0), ("乱收费", 1.5), ("拖欠", 1.5), ("不处理", 1.5),
        ("多次", 1.0), ("屡次", 1.0), ("一直没", 1.0), ("太吵", 1.0), ("严重影响", 1.5),
        ("漏水", 0.8), ("坏了", 0.8), ("堵塞", 0.8), ("停水", 0.8), ("停电", 0.8), ("噪音", 0.8),
        ("油烟", 0.8), ("积水", 0.8), ("破损", 0.8), ("占道经营", 1.0),
        ("违章停车", 1.0), ("路灯不亮", 1.0), ("井盖缺失", 1.0), ("严重", 1.0), ("不负责", 1.5),
        ("敷衍", 1.5), ("乱停乱放", 1.0), ("占用", 1.0), ("太贵", 1.0), ("不公平", 1.0),
        ("不合理", 1.0), ("影响", 0.8), ("阻碍", 1.0), ("违建", 1.0), ("侵犯", 1.5), ("不满", 1.5),
        ("不管", 1.0), ("做主", 1.5), ("推脱", 1.5), ("推诿", 1.5), ("推拖", 1.5), ("拒不", 1.5),
        ("至今", 1.0), ("未解决", 1.5), ("没有解决", 1.5), ("不给", 1.0), ("扰", 0.5),
    ),
    RequestType.HELP: (
        ("求助", 4.0), ("帮帮我", 3.0), ("帮帮忙", 2.5), ("救救", 3.0), ("救命", 3.0),
        ("怎么办", 1.5), ("无家可归", 3.0), ("走投无路", 3.0), ("急需", 1.5), ("被困", 2.0),
        ("走丢", 2.0), ("求你们", 1.5), ("帮我", 1.0), ("生活困难", 2.0), ("没钱", 1.5),
        ("困难", 1.0), ("帮忙", 1.5), ("帮助", 1.0), ("救助", 1.5),
    ),
    RequestType.SUGGESTION: (
        ("建议", 3.5), ("提议", 3.0), ("希望能", 1.5), ("希望", 1.0), ("能否", 1.0),
        ("能不能增加", 2.0), ("增设", 1.5), ("提个意见", 2.5), ("最好能", 1.5), ("呼吁", 2.0),
        ("增加", 1.0), ("开通", 1.0), ("加装", 1.0), ("应该", 1.0), ("统一", 0.8), ("取消", 0.8),
        ("提高", 0.8), ("降低", 0.8), ("放开", 0.8), ("调整", 0.8), ("优化", 1.0), ("完善", 1.0),
        ("加强", 1.0), ("设立", 1.0), ("多建", 1.5), ("推广", 1.0), ("鼓励", 1.0), ("望", 0.5),
    ),
    RequestType.CONSULT: (
        ("请问", 2.0), ("咨询", 3.0), ("想问", 2.0), ("问一下", 2.0), ("怎么办理", 2.5),
        ("如何办理", 2.5), ("需要什么材料", 2.5), ("在哪里办", 2.5), ("在哪办", 2.5),
        ("流程", 1.0), ("条件", 0.5), ("怎么申请", 2.0), ("多少钱", 1.0), ("能不能", 0.5),
        ("可以吗", 1.0), ("吗?", 0.5), ("吗？", 0.5), ("什么时候", 1.0), ("怎么查", 1.5),
        ("是否", 1.5), ("何时", 1.5), ("什么时间", 1.5), ("有没有", 1.0), ("在哪里", 1.5),
        ("哪里", 1.0), ("多久", 1.0), ("为何", 1.0), ("为什么", 1.0), ("怎么", 0.8), ("如何", 1.0),
        ("?", 0.8), ("？", 0.8), ("了解", 1.0), ("进度", 0.5), ("计划", 0.5), ("吗", 0.5),
    ),
    RequestType.PRAISE: (
        ("表扬", 4.0), ("点赞", 3.0), ("感谢", 1.0), ("锦旗", 3.0), ("致谢", 3.0), ("好评", 2.5),
        ("辛苦了", 1.5), ("非常满意", 2.0), ("服务很好", 2.0), ("很负责", 1.5), ("谢谢", 0.3),
    ),
}  # fmt: skip
_TIE_ORDER = (
    RequestType.REPORT,
    RequestType.COMPLAINT,
    RequestType.HELP,
    RequestType.SUGGESTION,
    RequestType.CONSULT,
    RequestType.PRAISE,
)
_NEGATED = re.compile(r"(?:不是|不想|不要|不用|没有|没|并非|并不是|无意|不)$")

_SENTIMENT_CUES: dict[Sentiment, _Cues] = {
    Sentiment.ANGRY: (
        ("气死", 3.0), ("太过分", 3.0), ("愤怒", 3.0), ("忍无可忍", 3.0), ("受不了", 2.0),
        ("什么玩意", 3.0), ("垃圾", 1.5), ("混蛋", 3.0), ("他妈", 3.0), ("妈的", 3.0),
        ("tmd", 3.0), ("曝光", 2.0), ("找媒体", 2.5), ("!!", 1.5), ("！！", 1.5), ("凭什么", 2.0),
        ("再不处理", 2.0), ("投诉到底", 3.0), ("欺人太甚", 3.0),
    ),
    Sentiment.NEGATIVE: (
        ("投诉", 1.0), ("不满", 2.0), ("失望", 2.0), ("没人管", 2.0), ("一直没", 1.5),
        ("太慢", 1.5), ("太差", 2.0), ("难受", 1.5), ("扰民", 1.5), ("吵", 1.0), ("差劲", 2.0),
        ("糟糕", 2.0), ("不合理", 1.5), ("着急", 1.0), ("害怕", 1.5), ("烦", 1.0), ("坏了", 1.0),
        ("不亮", 1.0), ("救命", 2.0), ("举报", 1.0), ("严重", 1.0), ("拖欠", 1.5), ("迟迟", 1.5),
        ("至今", 1.0), ("未能", 1.0), ("非法", 1.0), ("不合法", 1.5), ("违法", 1.0), ("危险", 1.0),
        ("不管用", 1.5), ("乱停乱放", 1.0), ("隐患", 1.0), ("不方便", 1.0), ("拒绝", 1.0),
        ("不透明", 1.0), ("堵塞", 1.0), ("事故", 1.0), ("不给", 1.0), ("拒不", 1.5), ("敷衍", 1.5),
        ("推诿", 1.5), ("不负责", 1.5), ("乱收", 1.0), ("为什么", 0.5), ("多年", 0.5),
    ),
    Sentiment.POSITIVE: (
        ("感谢", 2.0), ("表扬", 3.0), ("点赞", 3.0), ("满意", 1.5), ("辛苦了", 2.0), ("好评", 2.0),
        ("及时", 1.0), ("热情", 1.5), ("给力", 2.0), ("谢谢", 0.5), ("很好", 1.0), ("很负责", 1.0),
    ),
}  # fmt: skip
_URGENT = re.compile(
    r"紧急|着急|急死|很急|马上|尽快|立即|立刻|赶紧|危险|停水|停电|停气|漏水|漏电|塌|断电|"
    r"电线掉|老人|孕妇|婴儿|一直没人管|多次反映|再不处理|好几天|没饭吃|没地方住"
)
_CRITICAL = re.compile(r"有人受伤|砸到人|人命|出人命|快塌了|要塌了|随时会塌|电线掉下来|漏电")


def _score(text: str, cues: Iterable[tuple[str, float]]) -> float:
    total = 0.0
    for cue, weight in cues:
        if cue not in text:  # a plain substring test first: most cues are absent
            continue
        for match in re.finditer(re.escape(cue), text):
            if not _NEGATED.search(text[max(0, match.start() - 3) : match.start()]):
                total += weight
    return total


def classify_request_type(text: str) -> RequestType:
    """The request type of a normalized message."""
    scores = {kind: _score(text, cues) for kind, cues in _TYPE_CUES.items()}
    best = max(_TIE_ORDER, key=lambda kind: scores[kind])  # max keeps the first of equal scores
    return best if scores[best] > 0.5 else RequestType.OTHER


def detect_sentiment(text: str) -> Sentiment:
    """Positive, neutral, negative or angry, from weighted cue phrases."""
    scores = {kind: _score(text.lower(), cues) for kind, cues in _SENTIMENT_CUES.items()}
    if scores[Sentiment.ANGRY] >= 2.0:
        return Sentiment.ANGRY
    negative, positive = scores[Sentiment.NEGATIVE], scores[Sentiment.POSITIVE]
    if negative >= 1.0 and negative >= positive:
        return Sentiment.NEGATIVE
    if positive >= 1.0:
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL


def detect_urgency(text: str, emergency: Emergency) -> Urgency:
    """Critical for emergencies and imminent danger, urgent for time-critical matters."""
    if emergency is not Emergency.NONE or _CRITICAL.search(text):
        return Urgency.CRITICAL
    if _URGENT.search(text):
        return Urgency.URGENT
    return Urgency.NORMAL
