"""Text out of Chinese mail: charsets that lie, raw 8-bit headers, HTML without a plain part.

Mail clients label GBK text ``gb2312`` (GB2312 lacks characters such as 镕 that GBK has),
send Big5 with HKSCS characters, or put raw GBK bytes in headers without RFC 2047. The stdlib
``email`` package decodes such text with the declared codec and replaces what does not fit;
these helpers decode with the superset instead (GB18030 ⊃ GBK ⊃ GB2312, Big5-HKSCS ⊃ Big5)
and guess UTF-8 then GB18030 where nothing is declared.
"""

from __future__ import annotations

import codecs
import re
from email.header import decode_header
from html.parser import HTMLParser

#: declared charset → the codec that decodes everything senders put under that label
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "x-big5": "big5hkscs",
}
#: tried in order when a part declares no charset (or one Python does not know)
GUESSES = ("utf-8", "gb18030")


def codec_for(charset: str | None) -> str | None:
    """The codec to decode text declared as ``charset``; None when unknown or absent."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` as text: the declared charset's superset, else UTF-8, else GB18030."""
    codec = codec_for(charset)
    if codec is not None:
        return data.decode(codec, errors="replace")
    for guess in GUESSES:
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def decode_header_value(raw: str) -> str:
    """One header's text: RFC 2047 words and raw 8-bit bytes decoded, folding undone.

    ``raw`` is the value as the parser stored it (``Message.raw_items()``), where bytes that
    were not ASCII survive as surrogate escapes.
    """
    unfolded = re.sub(r"\r?\n[ \t]", " ", raw).strip()
    if _has_surrogates(unfolded):
        unfolded = decode_bytes(unfolded.encode("ascii", "surrogateescape"), None)
    if "=?" not in unfolded:
        return unfolded
    try:
        pieces = decode_header(unfolded)
    except (ValueError, LookupError):  # a broken encoded word: keep it as it was written
        return unfolded
    return "".join(
        piece if isinstance(piece, str) else decode_bytes(piece, charset)
        for piece, charset in pieces
    ).strip()


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"}
    | {"table", "ul", "ol", "section", "article"}
)
_SKIPPED = frozenset({"script", "style", "head", "title"})


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: blocks on their own lines, scripts and styles dropped."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
