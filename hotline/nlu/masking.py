"""Mask personal data (phones, ID cards, bank cards, e-mail) in text before it is logged or shown.

Pure regular expressions, one pass, no tokenizer: this runs on every log line. When in doubt
it masks: an ID-card number with a wrong checksum is still masked, and a 16–19 digit run is
treated as a bank card even if it is some other long identifier. Digit runs are classified as
a whole (a run is never masked in part), so a 13-digit ticket number such as ``2026112200001``
is left alone.

Formats produced:

* mobile ``13800138000`` / ``+86 138-0013-8000`` → ``138****8000`` (a written +86
  prefix is kept);
* landline ``0571-88886666`` → ``0571-****6666`` (area code and last four kept, extension kept),
  ``+86 571 88886666`` → ``+86 571 ****6666``; a stored ``+861012345678`` → ``010-****5678``;
* ID card (18, 17 + X, or legacy 15 digits) → first 6 and last 4 kept, ``*`` between;
* bank card (16–19 digits, optionally in groups of four) → first 4 and last 4 kept;
* e-mail ``zhangsan@example.com`` → ``z***@example.com``;
* 7 or more Chinese numerals in a row (ASR writes ``幺三八…``) → masked like a mobile or, for
  other lengths, all but the last 4.

:func:`mask_address` masks a whole channel address (a phone, an e-mail, a WeChat openid).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["mask_address", "mask_personal_data", "mask_phone"]

_D = r"\d"  # Unicode digits: log lines may carry full-width ０-９ that were never normalized
_ONE, _ZERO, _TWO, _3TO9 = "[1１]", "[0０]", "[2２]", "[3-9３-９]"
_START = r"(?<!\d)"  # never start inside a longer digit run
_END = r"(?!\d)"

_EMAIL = r"(?P<email>[A-Za-z0-9._%+-]+)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
_ID18 = rf"(?P<id18>{_D}{{17}}[{_D}Xx])(?![\dA-Za-z])"
_BANK_SPACED = rf"(?P<bank>{_D}{{4}}(?:[ \-－]{_D}{{4}}){{3}}(?:[ \-－]?{_D}{{1,3}})?)"
_BANK = rf"(?P<bankplain>{_D}{{16,19}})"
_ID15 = rf"(?P<id15>{_D}{{15}})"
_MOBILE = rf"(?P<prefix>(?:\+|00)?86[ \-－]?)?(?P<mobile>{_ONE}{_3TO9}{_D}(?:[ \-－]?{_D}){{8}})"
# a landline with the country code (+861012345678, +86 571 8888 6666): no trunk 0
_LANDLINE_CC = (
    rf"(?P<cc>(?:\+|00)86[ \-－]?)(?P<ccarea>{_ONE}{_ZERO}|{_TWO}{_D}|{_3TO9}{_D}{{2}})"
    rf"(?P<ccsep>[ \-－]?)(?P<cclocal>{_D}{{3,4}}[ \-－]?{_D}{{4}})"
)
# 3-digit area codes are 010 and 02x; every other area code has 4 digits. Without a separator this
# decides where the area code ends.
_LANDLINE = (
    rf"(?P<lp>[(（]?)(?P<area>{_ZERO}(?:{_ONE}{_ZERO}|{_TWO}{_D})|{_ZERO}{_3TO9}{_D}{{2}})"
    rf"(?P<rp>[)）]?)(?P<sep>[ \-－]?)"
    rf"(?P<local>{_D}{{3,4}}[ \-－]?{_D}{{4}})"
    rf"(?P<ext>(?:转|分机|-|ext\.?)\s?{_D}{{1,6}})?"
)
_CN_DIGITS = "零〇一二三四五六七八九幺两"
_CN_RUN = rf"(?P<cn>[{_CN_DIGITS}]{{7,}})"

_PATTERN = re.compile(
    rf"(?<![A-Za-z0-9._%+-]){_EMAIL}"
    rf"|{_START}(?:{_ID18}|{_BANK_SPACED}{_END}|{_BANK}{_END}|{_ID15}{_END}"
    rf"|{_MOBILE}{_END}|{_LANDLINE_CC}{_END}|{_LANDLINE}{_END})"
    rf"|{_CN_RUN}",
    re.IGNORECASE,
)
_QUICK = re.compile(rf"[\d@{_CN_DIGITS}]")
_WHOLE_EMAIL = re.compile(_EMAIL)
_WHOLE_NUMBER = re.compile(r"[+\-]?[\d \-－()（）]{4,}")


def _keep(value: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, at least four stars between."""
    hidden = max(len(value) - head - tail, 4)
    return value[:head] + "*" * hidden + (value[-tail:] if tail else "")


def _digits(value: str) -> str:
    """Digits (and an ID card's X) of ``value``, full-width ones folded to ASCII."""
    return "".join(
        str(unicodedata.decimal(ch)) if ch.isdecimal() else ch
        for ch in value
        if ch.isdecimal() or ch in "Xx"
    )


def mask_phone(value: str) -> str:
    """Mask one phone number given as digits (separators and a +86 prefix are tolerated).

    Mobiles keep the first 3 and last 4 digits, landlines the area code and the last 4; anything
    else keeps only its last 4 digits. Never raises: it is used on logging paths.
    """
    digits = _digits(value).upper().replace("X", "")
    if value.lstrip().startswith(("+86", "0086")):
        # E.164 as stored (+8613800138000, +861012345678): the national number, trunk 0 back
        national = digits.removeprefix("00").removeprefix("86")
        digits = national if national.startswith("1") and len(national) == 11 else "0" + national
    elif value.lstrip().startswith("+"):  # another country's number: its last 4 only
        return "+" + _keep(digits, 0, 4)
    elif len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1":
        return _keep(digits, 3, 4)
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        area = 3 if digits[1] in "12" else 4
        return digits[:area] + "-" + _keep(digits[area:], 0, 4)
    if len(digits) <= 4:
        return "*" * max(len(digits), 4)
    return _keep(digits, 0, 4)


def _mask_cn_run(run: str) -> str:
    if len(run) == 11:
        return _keep(run, 3, 4)
    return _keep(run, 0, 4)


def _replace(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups["email"] is not None:
        return f"{groups['email'][0]}***@{groups['domain']}"
    if groups["id18"] is not None:
        return _keep(groups["id18"], 6, 4)
    if groups["bank"] is not None or groups["bankplain"] is not None:
        return _keep(_digits(match.group(0)), 4, 4)
    if groups["id15"] is not None:
        return _keep(groups["id15"], 6, 4)
    if groups["mobile"] is not None:
        prefix = (groups["prefix"] or "").strip(" -－")
        masked = _keep(_digits(groups["mobile"]), 3, 4)
        return f"{prefix} {masked}" if prefix else masked
    if groups["ccarea"] is not None:
        local = _keep(_digits(groups["cclocal"]), 0, 4)
        return f"{groups['cc']}{groups['ccarea']}{groups['ccsep']}{local}"
    if groups["area"] is not None:
        local = _keep(_digits(groups["local"]), 0, 4)
        area = f"{groups['lp']}{groups['area']}{groups['rp']}"
        return f"{area}{groups['sep']}{local}{groups['ext'] or ''}"
    return _mask_cn_run(groups["cn"])


def mask_personal_data(text: str) -> str:
    """Return ``text`` with phone, ID-card, bank-card numbers and e-mail local parts masked."""
    if not _QUICK.search(text):
        return text
    return _PATTERN.sub(_replace, text)


def mask_address(address: str) -> str:
    """Mask a channel's whole address for a citizen: a phone number or e-mail as in text, any
    other identifier (a WeChat openid, an app user id) down to its last 4 characters, which
    the text masking would leave alone."""
    if email := _WHOLE_EMAIL.fullmatch(address):
        return f"{email['email'][0]}***@{email['domain']}"
    if _WHOLE_NUMBER.fullmatch(address):
        return mask_phone(address)
    if len(address) < 8:
        return "*" * 4  # the last 4 of a short id would be most of it
    return _keep(address, 0, 4)
