"""Every accepted way of writing a number becomes one E.164 form; anything else is refused."""

from __future__ import annotations

import pytest

from hotline.phones import InvalidPhone, canonical, canonical_or_none, is_mobile


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),  # as Twilio gives a caller
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),  # the + left out
        ("１３８００１３８０００", "+8613800138000"),  # full-width digits
        ("010-12345678", "+861012345678"),  # a landline drops its trunk 0
        ("01012345678", "+861012345678"),
        ("(010) 1234 5678", "+861012345678"),
        ("（0571）88886666", "+8657188886666"),
        ("0571-8888666", "+865718888666"),  # a 7-digit local number
        ("+86 10 12345678", "+861012345678"),
        ("+86 (0)10 12345678", "+861012345678"),
        ("0086-571-88886666", "+8657188886666"),
        ("+14155550100", "+14155550100"),  # another country's number is kept
        ("+852 2345 6789", "+85223456789"),
        ("00852 2345 6789", "+85223456789"),
    ],
)
def test_accepted_forms_become_one(written: str, stored: str) -> None:
    assert canonical(written) == stored
    assert canonical(stored) == stored  # canonical is a fixed point


@pytest.mark.parametrize(
    "written",
    ["12345", "1380013800", "138001380001", "12800138000", "88886666", "+86 12345", "+1 23",
     "phone", "", "0012", "+8612800138000"],
)  # fmt: skip
def test_anything_else_is_refused_with_what_is_accepted(written: str) -> None:
    with pytest.raises(InvalidPhone) as refused:
        canonical(written)
    assert refused.value.status == 422
    assert refused.value.message.startswith("phone: not a telephone number; expected a mobile")


def test_the_configured_country_code_is_used() -> None:
    assert canonical("13800138000", "+852") == "+85213800138000"
    assert canonical("+85213800138000", "+852") == "+85213800138000"
    assert canonical("+8613800138000", "+852") == "+8613800138000"  # foreign there: kept


def test_absent_numbers_stay_absent() -> None:
    assert canonical_or_none(None) is None
    assert canonical_or_none("  ") is None
    assert canonical_or_none(" 13800138000 ") == "+8613800138000"


@pytest.mark.parametrize(
    ("phone", "mobile"),
    [("+8613800138000", True), ("+861012345678", False), ("+8657188886666", False),
     ("+14155550100", False)],
)  # fmt: skip
def test_only_home_mobiles_take_sms(phone: str, mobile: bool) -> None:
    assert is_mobile(phone) is mobile
