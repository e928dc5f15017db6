"""Small conversational cues the policy needs: greeting, cancel, yes/no, ticket queries.

Deliberately narrow: a message is only a greeting or a "yes" when it is little else, so a
request that happens to start with "你好" is still taken as a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TICKET_NUMBER = re.compile(r"(?<!\d)(20\d{6}\d{3,8})(?!\d)")
_TICKET_WORDS = re.compile(r"工单|单子|诉求|反映的|投诉的|举报的|报的事|提交的")
_STATUS_CUE = re.compile(
    r"查询|查一下|查下|进度|状态|办得怎么样|处理得怎么样|处理到哪|怎么样了|结果"
)
_PUNCT = re.compile(r"[\s,，。.!！?？~～、…]+")
_GREETINGS = {
    "你好",
    "您好",
    "在吗",
    "在不在",
    "喂",
    "hello",
    "hi",
    "哈喽",
    "有人吗",
    "请问",
    "你好在吗",
    "您好在吗",
}
_CANCEL = {
    "取消",
    "算了",
    "不用了",
    "不办了",
    "不需要了",
    "撤销",
    "退出",
    "取消吧",
    "算了吧",
    "不用了谢谢",
}
_YES = {
    "是",
    "是的",
    "对",
    "对的",
    "确认",
    "确定",
    "好",
    "好的",
    "可以",
    "没问题",
    "提交",
    "确认提交",
    "嗯",
    "嗯嗯",
    "行",
    "没错",
    "yes",
    "ok",
    "1",
}
_NO = {"不是", "不对", "错了", "不", "否", "no", "2", "有误", "不正确"}
_SKIP = {
    "无",
    "没有",
    "不知道",
    "不清楚",
    "不方便",
    "不留",
    "匿名",
    "跳过",
    "不想留",
    "不告诉",
    "不用",
    "说不清",
}


# "转人工", "我要人工服务", "找客服" — the whole message, so "人工湖边的路灯坏了" stays a request.
_AGENT = re.compile(
    r"^我?(?:想|要|需要|请)?(?:转|接|找|转接|联系)?(?:人工|真人|客服|接线员|话务员|坐席)"
    r"(?:服务|客服|坐席|接听)?(?:吧|啊|呀|谢谢)?$"
)


def _bare(text: str) -> str:
    return _PUNCT.sub("", text).lower()


@dataclass(frozen=True)
class Cues:
    greeting: bool
    cancel: bool
    yes: bool
    no: bool
    skip: bool
    ticket_number: str | None
    status_query: bool
    #: asks for a person (转人工)
    agent: bool = False


def _is_status_query(text: str, bare: str, number: str | None) -> bool:
    if number is not None:
        return bool(_STATUS_CUE.search(text)) or bare == number
    # "我上次反映的问题处理得怎么样了": about their own earlier ticket, no number given.
    return bool(_STATUS_CUE.search(text)) and bool(_TICKET_WORDS.search(text)) and len(bare) <= 40


def read_cues(text: str) -> Cues:
    """Read the conversational cues in one (normalised) message."""
    bare = _bare(text)
    numbers = _TICKET_NUMBER.findall(text)
    number = numbers[0] if numbers else None
    return Cues(
        greeting=bare in _GREETINGS,
        cancel=bare in _CANCEL or (len(bare) <= 8 and bare.startswith("取消")),
        yes=bare in _YES,
        no=bare in _NO,
        skip=bare in _SKIP,
        ticket_number=number,
        status_query=_is_status_query(text, bare, number),
        agent=bool(_AGENT.match(bare)),
    )
