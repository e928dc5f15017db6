"""Chinese numerals (一千二百, 两万五, 三点五, 幺三八) to numbers."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["CN_DIGITS", "CN_NUMBER_CHARS", "cn_digits_to_ascii", "parse_number"]

CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
CN_NUMBER_CHARS = "".join(CN_DIGITS) + "十百千万亿点"


def cn_digits_to_ascii(text: str) -> str:
    """Map each Chinese digit to its ASCII digit (``幺三八`` → ``138``); other characters stay."""
    return "".join(str(CN_DIGITS[ch]) if ch in CN_DIGITS else ch for ch in text)


def _small(text: str) -> int:
    """Value below 10 000: ``二千五百零三``, ``十五``; a trailing bare digit after a unit is
    read as the next lower unit, as people say it (``一千二`` is 1200, ``三百五`` is 350)."""
    total, digit, last_unit = 0, None, 10_000
    for ch in text:
        if ch in CN_DIGITS:
            digit = CN_DIGITS[ch]
        elif ch in _UNITS:
            unit = _UNITS[ch]
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    if digit is not None:
        previous = text[-2] if len(text) > 1 else ""
        total += digit * (last_unit // 10 if previous in _UNITS and last_unit > 10 else 1)
    return total


def _integer(text: str) -> int:
    if not text:
        raise ValueError("empty numeral")
    if text.isdigit():
        return int(text)
    for ch, unit in sorted(_BIG_UNITS.items(), key=lambda kv: -kv[1]):
        if ch in text:
            high, low = text.split(ch, 1)
            if len(low) == 1 and low in CN_DIGITS:
                low_value = CN_DIGITS[low] * unit // 10  # 两万五 is 25 000, not 20 005
            else:
                low_value = _integer(low) if low else 0
            return (_integer(high) if high else 1) * unit + low_value
    if all(ch in CN_DIGITS for ch in text) and len(text) > 1:
        return int(cn_digits_to_ascii(text))  # 二零二六 read digit by digit
    return _small(text)


def parse_number(text: str) -> Decimal:
    """Parse Arabic (``3.5``), Chinese (``三点五``, ``两万五``) or mixed (``3万``) numerals."""
    text = text.strip()
    multiplier = {**_UNITS, **_BIG_UNITS}.get(text[-1:]) if len(text) > 1 else None
    if multiplier and ("." in text or "点" in text):
        return parse_number(text[:-1]) * multiplier  # 1.5万, 三点五万
    if "点" in text or "." in text:
        whole, _, frac = text.replace("点", ".").partition(".")
        frac_digits = cn_digits_to_ascii(frac)
        if not frac_digits.isdigit():
            raise ValueError(f"bad decimal part in {text!r}")
        return Decimal(_integer(whole) if whole else 0) + Decimal("0." + frac_digits)
    return Decimal(_integer(text))
