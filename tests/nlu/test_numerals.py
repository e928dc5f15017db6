"""Chinese numerals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotline.nlu.numerals import cn_digits_to_ascii, parse_number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("五百", "500"),
        ("一千二", "1200"),
        ("三百五", "350"),
        ("两万五", "25000"),
        ("三万", "30000"),
        ("一万二千", "12000"),
        ("十", "10"),
        ("十一", "11"),
        ("二十二", "22"),
        ("一百零五", "105"),
        ("一千零二十", "1020"),
        ("三点五", "3.5"),
        ("1.5万", "15000"),
        ("3万", "30000"),
        ("二零二六", "2026"),
        ("12", "12"),
    ],
)
def test_parse_number(text: str, value: str) -> None:
    assert parse_number(text) == Decimal(value)


def test_rejects_non_numerals() -> None:
    with pytest.raises(ValueError, match="not a Chinese numeral"):
        parse_number("五百块")


def test_digit_by_digit() -> None:
    assert cn_digits_to_ascii("幺三八零零") == "13800"
