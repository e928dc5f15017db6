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
    ],
)
def test_the_line_that_leads(text: str, line: str) -> None:
    hit = detect_emergency(text)
    assert hit is not None
    assert hit.service.value == line
