"""Cut what a reply quotes of earlier mails (ours, mostly) so the ticket holds only the new text.

Mail clients mark the quoted mail in their own words: ``-----原始邮件-----`` (Outlook, Foxmail),
``------------------ 原始邮件 ------------------`` (QQ 邮箱), ``张三 <a@b.cn> 于2026年12月5日
写道：`` (Gmail in Chinese), ``发件人: … 发送时间: …`` header blocks, ``On … wrote:`` and
``> `` prefixes. Everything from the first marker on is dropped, as are ``>`` lines and the
signature after ``-- ``. A forwarded mail is kept whole: what is forwarded is the request.
"""

from __future__ import annotations

import re

_MARKERS = [
    re.compile(r"^-{2,}\s*(原始邮件|原邮件|Original Message|Original)\s*-{2,}$", re.IGNORECASE),
    re.compile(r"^_{10,}$"),  # Outlook's line before the quoted header block
    re.compile(r"^(在|于).{0,120}(写道|寫道)[：:]$"),
    re.compile(r"^.{0,160}\s?(于|於).{0,80}(写道|寫道)[：:]$"),
    re.compile(r"^On\b.{0,200}\bwrote:$", re.IGNORECASE),
]
#: a quoted header block: "发件人: …" or "From: …" followed within two lines by its date line
_HEADER_START = re.compile(r"^(发件人|寄件者|From)\s*[：:]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^(发送时间|时间|日期|寄件日期|Sent|Date|收件人|To)\s*[：:]", re.I)
_FORWARD = re.compile(r"^-*\s*(Forwarded message|Begin forwarded|转发邮件|转发的邮件)", re.I)
_SIGNATURE = "-- "


def strip_quoted(text: str) -> str:
    """``text`` without the mails it quotes; the whole text when nothing else would be left."""
    lines = text.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _FORWARD.match(stripped):
            return text.strip()  # what follows is the matter itself, not our earlier reply
        if line == _SIGNATURE or _is_marker(stripped) or _header_block(lines, index):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    new = "\n".join(kept).strip()
    return new or text.strip()


def _is_marker(line: str) -> bool:
    return any(pattern.match(line) for pattern in _MARKERS)


def _header_block(lines: list[str], index: int) -> bool:
    if not _HEADER_START.match(lines[index].strip()):
        return False
    following = (line.strip() for line in lines[index + 1 : index + 3])
    return any(_HEADER_NEXT.match(line) for line in following)
