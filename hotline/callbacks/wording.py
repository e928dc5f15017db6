"""What the citizen reads or hears in a satisfaction callback (回访)."""

from __future__ import annotations

from hotline.callbacks.ratings import label
from hotline.storage.models import Rating

#: the author of the questions the callback worker writes to citizens
QUESTION_AUTHOR = "system:callback"
#: why an undelivered question is withdrawn once its callback has moved on
WITHDRAWN = "回访已结束或改用其他方式，此问题不再发送"

QUESTION = (
    "【12345回访】您反映的问题（工单 {number}）已办结。请对办理结果评价：回复 1 满意，"
    "2 基本满意，3 不满意。不满意的可直接写明原因。"
)
SPOKEN_QUESTION = (
    "您好，这里是12345政务服务便民热线回访。您反映的问题，工单尾号{tail}，已经办结。"
    "请对办理结果评价：满意请按1，基本满意请按2，不满意请按3。"
)
SPOKEN_AGAIN = "没有收到有效按键。满意请按1，基本满意请按2，不满意请按3。"
SPOKEN_GOODBYE = "感谢您接听，我们稍后再与您联系。再见。"
ASK_REASON_SPOKEN = "请在提示音后简要说出不满意的原因，说完请挂机。"
REASON_NOTED = "已记录您的意见并转交办理，感谢您的反馈。"
THANKS = {
    Rating.SATISFIED: "感谢您的评价！工单 {number} 的评价已记录为“满意”。",
    Rating.BASIC: "感谢您的评价，我们会继续改进。工单 {number} 的评价已记录为“基本满意”。",
}
REOPENED = "很抱歉没能让您满意。工单 {number} 已交{unit}重新办理（重办），办理时限至{due}。"
ESCALATED = "很抱歉没能让您满意。您的意见已转热线督办，工作人员会尽快与您联系。"
ALREADY_REOPENED = "很抱歉没能让您满意。工单 {number} 已在重新办理中，您的意见已一并转交。"
ASK_REASON = "如方便，请直接回复不满意的原因，我们一并转交。"
ALREADY_RATED = "工单 {number} 的回访评价已记录为“{rating}”，感谢您的反馈。"

# The rating page a link in the SMS or mail question opens (hotline/web/rating_page.py).
#: with the link; short: with a usual base URL it fits two SMS segments (134 characters)
SMS_QUESTION = (
    "【12345回访】工单 {number} 已办结，请回复 1 满意，2 基本满意，3 不满意（可附原因），"
    "或点击链接评价：{link}"
)
MAIL_LINK = "\n\n也可以打开下面的链接评价（{until} 前有效）：\n{link}"
LINK_INVALID = "链接无效。请核对短信或邮件中的链接是否完整；如需评价或反映问题，请拨打12345。"
LINK_EXPIRED = "评价链接已过期。如需评价或反映问题，请拨打12345。"
LINK_ENDED = "本次回访已结束，无需再评价。如有问题，请拨打12345。"
LINK_REASON_LATER = "如方便，可直接回复短信或邮件说明不满意的原因，我们一并转交。"
PAGE_UNAVAILABLE = "系统暂时无法处理，您的评价尚未提交，请稍后再试。"
PAGE_FAILED = "系统出错，您的评价可能尚未提交，请稍后再试或拨打12345。"


def question(number: str) -> str:
    return QUESTION.format(number=number)


def sms_question(number: str, link: str) -> str:
    return SMS_QUESTION.format(number=number, link=link)


def mail_question(number: str, link: str, *, until: str) -> str:
    return QUESTION.format(number=number) + MAIL_LINK.format(until=until, link=link)


def spoken_question(number: str) -> str:
    """Read aloud: the last four digits of the number say which ticket without a long list."""
    return SPOKEN_QUESTION.format(tail="，".join(number[-4:]))


def already_rated(number: str, rating: Rating | str) -> str:
    return ALREADY_RATED.format(number=number, rating=label(rating))
