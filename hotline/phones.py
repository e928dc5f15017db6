"""One number, one form: every phone the hotline stores or looks up is E.164 (``+8613800138000``).

Channels that know the number (Twilio's caller id and SMS sender) give it as E.164; people type
it as ``13800138000``, ``138 0013 8000``, ``+86 138-0013-8000``, ``0086…``, or a landline with
its area code, ``010-12345678`` / ``(0571) 8888 6666``. :func:`canonical` turns each into the
one form, so that a caller and a letter writer with the same number are the same contact: a
mobile gets the country code, a landline drops its trunk ``0`` (``010-12345678`` →
``+861012345678``), and a number written with ``+`` or ``00`` and another country's code is
kept as it is. National numbers follow the mainland numbering plan (mobiles ``1[3-9]`` and
11 digits, landlines ``0`` + area code + 7 or 8 digits) under the configured country code
(``callbacks.country_code``, ``+86``).
"""

from __future__ import annotations

import re
import unicodedata

from hotline.errors import ValidationFailed

DEFAULT_COUNTRY = "+86"
#: what people write between digits: spaces, dashes (full width too), brackets, dots
_SEPARATORS = re.compile(r"[\s\-－–—()（）.]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
#: trunk 0, then the area code (10, 2x or three digits) and a 7- or 8-digit local number
_LANDLINE = re.compile(r"0(?:10|2\d|[3-9]\d\d)\d{7,8}")
#: E.164: a country code and at most 15 digits in all
_INTERNATIONAL = re.compile(r"[1-9]\d{6,14}")
ACCEPTED = (
    "a mobile number (11 digits), a landline with its area code (010-12345678), or a number "
    "with its country code (+86…)"
)


class InvalidPhone(ValidationFailed):
    """Not a telephone number :func:`canonical` can read; ``message`` says what is accepted."""

    def __init__(self, raw: str) -> None:
        super().__init__(f"phone: not a telephone number; expected {ACCEPTED}")
        self.raw = raw


def canonical(raw: str, country_code: str = DEFAULT_COUNTRY) -> str:
    """``raw`` as E.164; raises :class:`InvalidPhone` when it is no number we can read."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    national = country_code.removeprefix("+")
    if compact.startswith("+" + national):
        rest = compact[1 + len(national) :].removeprefix("0")  # "+86 (0)10 …" happens
        if _MOBILE.fullmatch(rest) or _LANDLINE.fullmatch("0" + rest):
            return country_code + rest
        raise InvalidPhone(raw)
    if compact.startswith("+"):
        if _INTERNATIONAL.fullmatch(compact[1:]):
            return compact
        raise InvalidPhone(raw)
    if _MOBILE.fullmatch(compact):
        return country_code + compact
    if _LANDLINE.fullmatch(compact):
        return country_code + compact[1:]
    if compact.startswith(national) and _MOBILE.fullmatch(compact[len(national) :]):
        return country_code + compact[len(national) :]  # 8613800138000: the + left out
    raise InvalidPhone(raw)


def canonical_or_none(raw: str | None, country_code: str = DEFAULT_COUNTRY) -> str | None:
    """:func:`canonical` of a phone that may be absent (``None`` or blank stays ``None``)."""
    if raw is None or not raw.strip():
        return None
    return canonical(raw, country_code)


def readable(raw: str | None, country_code: str = DEFAULT_COUNTRY) -> str | None:
    """:func:`canonical`, or ``None`` for what is absent or no number (a value stored long
    ago, not someone's input now)."""
    try:
        return canonical_or_none(raw, country_code)
    except InvalidPhone:
        return None


def is_mobile(phone: str, country_code: str = DEFAULT_COUNTRY) -> bool:
    """Whether a canonical number is a mobile of the home country (one that takes SMS)."""
    return phone.startswith(country_code) and bool(
        _MOBILE.fullmatch(phone.removeprefix(country_code))
    )
