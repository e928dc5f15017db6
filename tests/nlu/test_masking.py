"""Masking of personal data in free text and log lines."""

from __future__ import annotations

import logging
import time

import pytest

from hotline.nlu.masking import mask_address, mask_personal_data, mask_phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13800138000", "电话138****8000"),
        ("我的手机是 138 0013 8000 谢谢", "我的手机是 138****8000 谢谢"),
        ("+86 138-0013-8000", "+86 138****8000"),
        ("8613800138000", "86 138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("座机0571-88886666转123", "座机0571-****6666转123"),
        ("座机01088886666", "座机010****6666"),
        ("0571 8888 6666", "0571 ****6666"),
        ("(0571)88886666", "(0571)****6666"),
        ("（010）8888 6666", "（010）****6666"),
        ("0086 13800138000", "0086 138****8000"),
        ("来电+861012345678", "来电+8610****5678"),  # a landline as stored: country code, no 0
        ("+86 571 8888 6666", "+86 571 ****6666"),
        ("身份证11010519900101123X", "身份证110105********123X"),
        ("身份证110105199001011235号", "身份证110105********1235号"),
        ("旧证110105900101123", "旧证110105*****1123"),
        ("卡号6222021234567890", "卡号6222********7890"),
        ("卡号6222 0212 3456 7890 123", "卡号6222***********0123"),
        ("邮箱zhangsan@example.com", "邮箱z***@example.com"),
        ("QQ邮箱13800138000@qq.com", "QQ邮箱1***@qq.com"),
        ("幺三八零零幺三八零零零", "幺三八****八零零零"),
    ],
)
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "工单号2026112200001请查收",
        "工单2026112200001和2026112200002",
        "时间2026-11-22 04:04:24",
        "罚了500元，还有3万块押金",
        "住在幸福路12号3栋1单元502室",
        "8月5日下午3点",
        "没有任何数字的句子",
        "三三两两的人",
        "id=550e8400-e29b-41d4-a716-446655440000 took 1234567ms",
        "at 2026-11-22T04:04:24.123456+08:00 from 127.0.0.1:8080",
    ],
)
def test_leaves_other_text_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_id_card_with_wrong_checksum_is_still_masked() -> None:
    # 11010519491231002X is valid; a final 1 breaks the GB 11643 checksum.
    masked = mask_personal_data("号码110105194912310021")
    assert masked == "号码110105********0021"


def test_nothing_left_unmasked_in_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("hotline.test.masking")
    with caplog.at_level(logging.INFO):
        logger.info(
            "intake.received %s",
            mask_personal_data("来电13912345678，身份证440301199001011234，邮箱a.b@x.cn"),
        )
    line = caplog.records[0].getMessage()
    assert "13912345678" not in line
    assert "440301199001011234" not in line
    assert "a.b@" not in line
    assert "139****5678" in line


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13800138000", "138****8000"),
        ("+8613800138000", "138****8000"),
        ("+861012345678", "010-****5678"),  # landlines are stored without their trunk 0
        ("+8657188886666", "0571-****6666"),
        ("+14155550100", "+*******0100"),  # another country's number: the last four only
        ("１３８００１３８０００", "138****8000"),
        ("057188886666", "0571-****6666"),
        ("01088886666", "010-****6666"),
        ("88886666", "****6666"),
        ("12", "****"),
    ],
)
def test_mask_phone(value: str, expected: str) -> None:
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("+8613800138000", "138****8000"),  # SMS and voice
        ("zhangsan@example.com", "z***@example.com"),
        ("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "************************fL2M"),  # a WeChat openid
        ("o6_bmjrPTlm6_13800138000", "********************8000"),  # no digit run left
        ("-1001234567890", "*********7890"),  # a Telegram group's chat id
        ("user-1", "****"),  # a short app user id: its last four would be most of it
    ],
)
def test_mask_address_hides_every_kind_of_address(address: str, expected: str) -> None:
    assert mask_address(address) == expected


def test_masking_is_fast() -> None:
    line = "用户13800138000反映幸福路12号噪音扰民，工单2026112200001，" * 3
    start = time.perf_counter()
    for _ in range(2000):
        mask_personal_data(line)
    per_call = (time.perf_counter() - start) / 2000
    assert per_call < 0.0005
