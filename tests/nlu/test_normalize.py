"""Normalisation: width, script, whitespace, emoji, control characters, ASR fillers."""

from __future__ import annotations

import pytest

from hotline.nlu.normalize import Normalizer, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１３８００１３８０００", "13800138000"),
        ("ＡＢＣ＠ｘ．ｃｏｍ", "ABC@x.com"),
        ("０５７１－８８８８６６６６", "0571-88886666"),
        ("我要投訴幸福路12號的噪音擾民問題", "我要投诉幸福路12号的噪音扰民问题"),
        ("請問社保卡怎麼辦理", "请问社保卡怎么办理"),
        ("好，谢谢！真的吗？（江北区）", "好，谢谢！真的吗？（江北区）"),
        ("着火了😭🔥快来", "着火了快来"),
        ("👨\u200d👩\u200d👧 一家人👍🏻", "一家人"),
        ("路灯\u200b不亮\ufeff", "路灯不亮"),
        ("  多个\t空格\n\n换行  ", "多个 空格 换行"),
        ("全角\u3000空格", "全角 空格"),
        ("喂 喂 喂 那个 着火了", "喂 那个 着火了"),
        ("嗯 呃，我想问一下", "我想问一下"),
        ("金额是多少 额度呢", "金额是多少 额度呢"),
        ("那个人在打人", "那个人在打人"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_chinese_sentence_punctuation_is_kept_full_width() -> None:
    assert normalize("，。？！：；") == "，。？！：；"


def test_fillers_can_be_kept() -> None:
    assert Normalizer(strip_fillers=False)("嗯 好的") == "嗯 好的"


def test_converter_is_built_once_per_instance() -> None:
    normalizer = Normalizer()
    normalizer.warm_up()
    converter = normalizer._converter
    assert converter is not None
    normalizer("繁體字")
    assert normalizer._converter is converter
    assert Normalizer()._converter is None  # nothing is built before first use
