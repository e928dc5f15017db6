"""Categories of danger the rules describe (not phrases of one set), and their look-alikes."""

from __future__ import annotations

import pytest

from hotline.nlu.emergency import detect_emergency
from hotline.nlu.normalize import Normalizer

_normalize = Normalizer()


def _line(text: str) -> str:
    hit = detect_emergency(_normalize(text))
    return hit.service.value if hit else "none"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # fire and gas
        ("楼下那辆三轮车突然就着起来了", "119"),
        ("有个人纵火 把垃圾站点了", "119"),
        ("一股很浓的液化气味 从楼下飘上来", "119"),
        ("修路的把天然气管子挖破了 呲呲往外冒", "119"),
        # trapped, buried, structures giving way, water
        ("电梯困住了 我妈在里面", "119"),
        ("小孙子被关在车里了 车门打不开", "119"),
        ("孩子掉冰窟窿了", "119"),
        ("隧道塌了 好几个工人被埋了", "119"),
        ("厂房的墙裂开了 还在咔咔响", "119"),
        ("我们这边山上泥石流下来了 路全断了", "119"),
        ("一辆面包车翻进河里了", "119"),
        ("有人跳进江里了", "119"),
        # medical
        ("他现在迷迷糊糊的 叫他也不应", "120"),
        ("我爸后脑勺磕破了", "120"),
        ("我姐吞了一瓶药 叫了半天都没醒", "120"),
        ("药片被孩子吃了好几粒", "120"),
        ("老太太在超市瘫在地上了", "120"),
        ("保安在给他做心肺复苏", "120"),
        ("家里老人从阳台掉下去了", "120"),
        ("地上全是血 人趴着不动", "120"),
        ("被毒蜂蛰了 喉咙发紧", "120"),
        ("工地上有人被电击了", "120"),
        ("我头疼 从来没这么疼过", "120"),
        # police
        ("一伙人拿出砍刀在KTV门口", "110"),
        ("他掏出匕首了", "110"),
        ("男的拿酒瓶把人头砸破了", "110"),
        ("有人把一个女孩往车里拽", "110"),
        ("他们逼我转账 不然不放我走", "110"),
        ("我被一群人围住了", "110"),
        ("出租车司机往山里开 叫他停车也不停", "110"),
        ("有人冒充公安打电话 我爸正在往安全账户转钱", "110"),
        # road
        ("国道上连环追尾了 十几辆车", "122"),
        ("货车侧翻在路中间", "122"),
        ("水泥罐车轧到一个骑车的", "122"),
        ("骑电动车摔了 头破了 起不来", "122"),
        ("我们的车在山路上翻到沟里了", "122"),
    ],
)
def test_a_danger_is_referred_to_its_line(text: str, line: str) -> None:
    assert _line(text) == line


@pytest.mark.parametrize(
    "text",
    [
        "钥匙锁在车里了 怎么办",
        "我这药吃了好几天了还不见好",
        "工人往车上拉货 占了消防通道",
        "晚上迷迷糊糊被楼下吵醒",
        "学校逼我转学",
        "手机滑到地上摔坏了",
        "自来水管被埋在地下 没法维修",
        "装修工人拿着锤子敲了一天",
        "车开到河边洗车 污染水源",
        "我的车在停车场被翻了 东西丢了",
        "夜里施工 喊停也不停",
        "地面塌陷了 有人管吗",
        "我家老房子快塌了 想申请危房改造",
        "小区外墙瓷砖一直往下掉 希望物业处理",
        "山上老有石头滚下来 很危险",
        "孩子被马蜂蛰了 去哪打针",
        "泥石流的特点和成因",
        # figurative cries, the news, prevention campaigns, refunds
        "救命 这个网站怎么都登不上去 烦死了",
        "电视上说外地有个商场着火了 我们这边商场检查了吗",
        "社区什么时候开展防火宣传",
        "高速上出了车祸封路了 能不能退高速费",
    ],
)
def test_look_alikes_stay_with_12345(text: str) -> None:
    assert _line(text) == "none"


def test_a_cry_for_help_with_a_real_danger_is_not_figurative() -> None:
    assert _line("救命 屋里好多烟 急死了") == "119"
    assert _line("救命啊 救命") == "110"
