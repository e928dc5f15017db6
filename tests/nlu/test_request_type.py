"""Request type, sentiment and urgency."""

from __future__ import annotations

import pytest

from hotline.nlu.request_type import classify_request_type, detect_sentiment, detect_urgency
from hotline.nlu.types import Emergency, RequestType, Sentiment, Urgency


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("请问社保卡怎么办理", RequestType.CONSULT),
        ("想问一下公积金提取需要什么材料", RequestType.CONSULT),
        ("我要举报有人违法排污", RequestType.REPORT),
        ("举报一家黑作坊无证经营", RequestType.REPORT),
        ("建议在路口增设红绿灯", RequestType.SUGGESTION),
        ("希望能多开几条公交线路", RequestType.SUGGESTION),
        ("感谢城管的工作人员，点赞", RequestType.PRAISE),
        ("我要表扬社区的王书记", RequestType.PRAISE),
        ("我要投诉楼下烧烤店油烟扰民，反映多次一直没人管", RequestType.COMPLAINT),
        ("反映一下楼上噪音扰民的问题，一直没人管", RequestType.COMPLAINT),
        ("求助，帮帮我，孩子走丢了怎么办", RequestType.HELP),
        ("我没钱吃饭了，帮帮我", RequestType.HELP),
        ("你好", RequestType.OTHER),
        ("我不是投诉，就是想问一下公积金提取流程", RequestType.CONSULT),
        ("路灯不亮了，麻烦处理一下谢谢", RequestType.COMPLAINT),
    ],
)
def test_request_type(text: str, kind: RequestType) -> None:
    assert classify_request_type(text) is kind


@pytest.mark.parametrize(
    ("text", "sentiment"),
    [
        ("什么玩意！！再不处理我就找媒体曝光", Sentiment.ANGRY),
        ("太过分了，气死我了", Sentiment.ANGRY),
        ("楼上太吵了，一直没人管", Sentiment.NEGATIVE),
        ("非常感谢你们及时处理", Sentiment.POSITIVE),
        ("请问社保卡怎么办理", Sentiment.NEUTRAL),
        ("路灯不亮，麻烦处理一下谢谢", Sentiment.NEGATIVE),
        ("我对处理结果不满意", Sentiment.NEGATIVE),
    ],
)
def test_sentiment(text: str, sentiment: Sentiment) -> None:
    assert detect_sentiment(text) is sentiment


@pytest.mark.parametrize(
    ("text", "emergency", "urgency"),
    [
        ("着火了", Emergency.FIRE, Urgency.CRITICAL),
        ("电线掉下来了", Emergency.NONE, Urgency.CRITICAL),
        ("楼上漏水到我家了，很着急", Emergency.NONE, Urgency.URGENT),
        ("小区停水两天了", Emergency.NONE, Urgency.URGENT),
        ("请问社保卡怎么办理", Emergency.NONE, Urgency.NORMAL),
    ],
)
def test_urgency(text: str, emergency: Emergency, urgency: Urgency) -> None:
    assert detect_urgency(text, emergency) is urgency
