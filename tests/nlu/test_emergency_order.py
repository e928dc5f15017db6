"""Which line leads when a message fires several."""

import pytest

from hotline.nlu.emergency import detect_emergency


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("我喝了农药 我不想活了", "120"),  # harm done: the ambulance, not the intent
        ("我不想活了 我要跳楼", "110"),
        ("有辆三轮翻沟里了 人压在下面", "122"),  # pinned in a crash: the accident leads
        ("房子塌了 人压在下面", "119"),
        ("超市里有个人说他身上绑着炸药", "110"),  # a person with a bomb, not an explosion
        ("刹车失灵了 一辆货车冲进了饭店", "122"),  # a vehicle ploughing in, not an intruder
        ("一个男的冲进我们店里乱砸", "110"),
        ("小车冲进河里了", "119"),  # in the water: the rescue leads
        ("车翻到沟里了 我腿卡住出不来", "122"),  # pinned in a crash
        ("有人跳河了", "119"),  # in the water already, not only the intent
        ("工人被电打了 倒在地上", "120"),  # electrocuted, not beaten
    ],
)
def test_the_line_that_leads(text: str, line: str) -> None:
    hit = detect_emergency(text)
    assert hit is not None
    assert hit.service.value == line
