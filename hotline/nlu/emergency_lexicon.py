"""Trigger phrases of the emergency detector, one tuple per service and strength.

A *strong* trigger describes an event happening (着火, 晕倒, 持刀); a *weak* one is a bare noun
(火灾, 车祸, 心脏病) that enquiries and reports also use, so it yields to their context.
"""

from __future__ import annotations

from hotline.nlu.types import Emergency

__all__ = ["TRIGGERS"]

_GAS = r"(?:煤气|燃气|天然气|液化气|瓦斯)"
_KIN = r"(?:孩子|小孩|儿子|女儿|孙子|孙女|老人|老太太|老爷子|我妈|我爸|父亲|母亲|老婆|老公)"


def _any(*phrases: str) -> str:
    return "|".join(phrases)


# (service, strong, pattern). Weak triggers yield to enquiry, habit and report context.
TRIGGERS: tuple[tuple[Emergency, bool, str], ...] = (
    (
        Emergency.FIRE,
        True,
        _any("着火", "起火", "失火", "烧起来", "烧着了", "火很大", "火势", "大火", "火苗"),
    ),
    (Emergency.FIRE, True, _any("冒烟", "冒黑烟", "浓烟", "烟很大")),
    (
        Emergency.FIRE,
        True,
        _any(rf"{_GAS}(?:泄漏|泄露|漏气|漏了|味很大|味道很大)", rf"闻到{_GAS}味", "爆炸", "炸了"),
    ),
    (
        Emergency.FIRE,
        True,
        _any("被困", "困在", "困住", "关在电梯", "电梯(?:里)?(?:困人|关人|卡住了)", "救火"),
    ),
    (Emergency.FIRE, True, _any("溺水", "落水", "掉(?:进|到)(?:河|湖|江|水)(?:里)?")),
    (Emergency.FIRE, False, _any("火灾", "火警")),
    (
        Emergency.POLICE,
        True,
        _any(
            "打人",
            "打我",
            "打她",
            "打他",
            "打孩子",
            "打老婆",
            "打起来了",
            "被打",
            "挨打",
            "打架",
            "斗殴",
            "群殴",
        ),
    ),
    (
        Emergency.POLICE,
        True,
        _any(
            "砍人",
            "杀人",
            "捅人",
            "捅了",
            "持刀",
            "拿刀",
            "拿着刀",
            "动刀",
            "持枪",
            "开枪",
            "枪声",
            "要杀",
            "杀了我",
            "弄死我",
            "打死我",
        ),
    ),
    (
        Emergency.POLICE,
        True,
        _any(
            "抢劫",
            "打劫",
            "被抢",
            "抢了我",
            "抢包",
            "抢钱",
            "撬门",
            "撬锁",
            "入室",
            "闯进",
            "砸门",
            "绑架",
            "劫持",
        ),
    ),
    (
        Emergency.POLICE,
        True,
        _any(rf"{_KIN}(?:不见了|丢了|走丢|找不到了|失踪)", "走失", "拐走", "拐卖", "人贩子"),
    ),
    (
        Emergency.POLICE,
        True,
        _any(
            "家暴",
            "威胁",
            "恐吓",
            "跟踪我",
            "强奸",
            "猥亵",
            "性侵",
            "非礼",
            "跳楼",
            "跳河",
            "自杀",
            "轻生",
        ),
    ),
    (
        Emergency.POLICE,
        True,
        _any(
            "救命",
            "快来人",
            "来人啊",
            "我要报警",
            "帮我报警",
            "快报警",
            "报警(?!器|电话|平台|系统)",
            "正在偷",
            "被骗了",
        ),
    ),
    (Emergency.POLICE, False, _any("小偷", "偷东西", "报案")),
    (
        Emergency.TRAFFIC,
        True,
        _any(
            "出车祸",
            "撞车",
            "撞人了",
            "撞了人",
            "被车撞",
            "车撞了",
            "被撞",
            "追尾",
            "翻车",
            "肇事逃逸",
            "撞倒",
            "碾压",
        ),
    ),
    (Emergency.TRAFFIC, False, _any("车祸", "交通事故")),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "晕倒",
            "昏倒",
            "晕过去",
            "昏过去",
            "昏迷",
            "不省人事",
            "没有?意识",
            "叫不醒",
            "没有?呼吸",
        ),
    ),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "没气了",
            "呼吸困难",
            "喘不上气",
            "喘不过气",
            "心脏病(?:发作|犯了)",
            "心梗",
            "心肌梗",
            "心脏骤停",
        ),
    ),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "倒地不起",
            "倒在地上",
            "一动不动",
            "胸口(?:很|好|特别)?疼",
            "中风",
            "脑梗",
            "脑溢血",
            "脑出血",
            "抽搐",
            "抽风",
            "癫痫",
        ),
    ),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "大出血",
            "流了?(?:很多|好多|一地|大量)的?血",
            "血流不止",
            "止不住血",
            "一直(?:在)?流血",
        ),
    ),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "中毒",
            "农药",
            "安眠药",
            "服毒",
            "休克",
            "快不行了",
            "人不行了",
            "快死了",
            "起不来了",
            "动不了了",
        ),
    ),
    (
        Emergency.AMBULANCE,
        True,
        _any(
            "要生了",
            "羊水破了",
            "难产",
            "烫伤",
            "烧伤",
            "触电",
            "叫救护车",
            "打120",
            "叫120",
        ),
    ),
    (Emergency.AMBULANCE, False, _any("心脏病", "流血", "受伤", "摔伤", "骨折", "急救")),
)
