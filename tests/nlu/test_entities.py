"""Entity extraction: phones, ID cards (GB 11643), plates, e-mail, money, places, dates."""

from __future__ import annotations

import pytest

from hotline.nlu.entities import EntityExtractor, id_card_is_valid
from hotline.nlu.gazetteer import Gazetteer
from hotline.nlu.normalize import normalize
from hotline.nlu.types import Entity
from tests.nlu.clock import FIXED_NOW


@pytest.fixture(scope="module")
def extractor(gazetteer: Gazetteer) -> EntityExtractor:
    return EntityExtractor(gazetteer)


def _kinds(extractor: EntityExtractor, text: str, *kinds: str) -> list[tuple[str, str, str]]:
    normalized = normalize(text)
    found = extractor.extract(normalized, FIXED_NOW)
    for entity in found:
        assert normalized[entity.start : entity.end] == entity.text
    return [(e.kind, e.text, e.value) for e in found if not kinds or e.kind in kinds]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("电话13800138000", "13800138000"),
        ("手机１３８００１３８０００", "13800138000"),
        ("打 +86 138-0013-8000 找我", "13800138000"),
        ("号码是138 0013 8000", "13800138000"),
        ("幺三八零零幺三八零零零 是我电话", "13800138000"),
    ],
)
def test_mobile(extractor: EntityExtractor, text: str, value: str) -> None:
    assert [v for k, _, v in _kinds(extractor, text, "mobile")] == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("座机0571-88886666转123", "057188886666"),
        ("01088886666", "01088886666"),
        ("0755 2345 6789", "075523456789"),
        ("电话(0571)88886666", "057188886666"),
    ],
)
def test_landline(extractor: EntityExtractor, text: str, value: str) -> None:
    assert [v for k, _, v in _kinds(extractor, text, "landline")] == [value]


def test_ticket_number_is_not_a_phone(extractor: EntityExtractor) -> None:
    assert _kinds(extractor, "工单2026112200001进度怎么样", "mobile", "landline", "id_card") == []


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("11010519491231002X", True),
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check digit
        ("110105194913310028", False),  # month 13
        ("110105491231002", True),  # legacy 15 digits, born 1949-12-31
        ("110105491331002", False),
        ("1101051949123100", False),
    ],
)
def test_id_card_checksum(number: str, valid: bool) -> None:
    assert id_card_is_valid(number) is valid


def test_invalid_id_is_not_extracted_but_masked(extractor: EntityExtractor) -> None:
    from hotline.nlu.masking import mask_personal_data

    assert _kinds(extractor, "身份证110105194912310021", "id_card") == []
    assert "110105194912310021" not in mask_personal_data("身份证110105194912310021")
    assert _kinds(extractor, "身份证11010519491231002x", "id_card") == [
        ("id_card", "11010519491231002x", "11010519491231002X")
    ]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("粤B12345违章停车", "粤B12345"),
        ("车牌粤B·12345", "粤B12345"),
        ("京A-8K3P9停在门口", "京A8K3P9"),
        ("新能源车粤BD12345", "粤BD12345"),
        ("浙a12345f", "浙A12345F"),
        ("苏E1234学", "苏E1234学"),
    ],
)
def test_plate(extractor: EntityExtractor, text: str, value: str) -> None:
    assert [v for k, _, v in _kinds(extractor, text, "plate")] == [value]


@pytest.mark.parametrize("text", ["新能源车", "京ABCDEF", "粤B1234"])
def test_not_a_plate(extractor: EntityExtractor, text: str) -> None:
    assert _kinds(extractor, text, "plate") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("罚了500元", "500"),
        ("收了我五百块，太贵了", "500"),
        ("押金3万元", "30000"),
        ("还有¥200没退", "200"),
        ("一共两千五百元", "2500"),
        ("花了1.5万", "15000"),
        ("一千二百块钱", "1200"),
        ("五块五毛", "5.5"),
        ("人民币300", "300"),
        ("押金3万没退", "30000"),
        ("工资3000没发", "3000"),
    ],
)
def test_money(extractor: EntityExtractor, text: str, value: str) -> None:
    assert [v for k, _, v in _kinds(extractor, text, "money")] == [value]


@pytest.mark.parametrize(
    "text", ["一块儿去", "两块砖头", "一元二次方程很难", "3万人", "花了一笔钱", "交了三个月"]
)
def test_not_money(extractor: EntityExtractor, text: str) -> None:
    assert _kinds(extractor, text, "money") == []


def test_email(extractor: EntityExtractor) -> None:
    assert _kinds(extractor, "邮箱Zhang.San@Example.com", "email") == [
        ("email", "Zhang.San@Example.com", "zhang.san@example.com")
    ]


def test_gazetteer_places(extractor: EntityExtractor) -> None:
    assert _kinds(extractor, "江北区望江街道临波社区路灯不亮") == [
        ("district", "江北区", "江北区"),
        ("street", "望江街道", "望江街道"),
        ("community", "临波社区", "临波社区"),
    ]
    assert _kinds(extractor, "市一医院门口占道经营", "landmark") == [
        ("landmark", "市一医院", "临江市第一人民医院")
    ]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("我家住在幸福路12号", "幸福路12号"),
        ("我要投诉幸福路12号油烟扰民", "幸福路12号"),
        ("阳光小区3栋2单元502室楼下", "阳光小区3栋2单元502室"),
        ("滨江花园小区5号楼", "滨江花园小区5号楼"),
        ("解放路与胜利路交叉口红绿灯坏了", "解放路与胜利路交叉口"),
        ("我们是王家村的", "王家村"),
        ("举报北京路5号有人传销", "北京路5号"),
        ("在江南区南湖路阳光小区3栋", "南湖路阳光小区3栋"),
    ],
)
def test_pattern_addresses(extractor: EntityExtractor, text: str, address: str) -> None:
    assert [t for _, t, _ in _kinds(extractor, text, "address")] == [address]


@pytest.mark.parametrize("text", ["农村低保怎么办理", "我家小区门口", "市政府门口"])
def test_no_pattern_address(extractor: EntityExtractor, text: str) -> None:
    assert _kinds(extractor, text, "address") == []


def test_dates_and_phones_together(extractor: EntityExtractor) -> None:
    found = _kinds(extractor, "昨天晚上10点打13800138000没人接，罚了三万元")
    assert found == [
        ("datetime", "昨天晚上10点", "2026-11-21T22:00:00+08:00"),
        ("mobile", "13800138000", "13800138000"),
        ("money", "三万元", "30000"),
    ]


def test_entity_to_dict() -> None:
    entity = Entity("mobile", "13800138000", 2, 13, "13800138000")
    assert entity.to_dict() == {
        "kind": "mobile",
        "text": "13800138000",
        "start": 2,
        "end": 13,
        "value": "13800138000",
    }
