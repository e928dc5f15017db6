"""Text normalisation applied to every citizen message before segmentation and extraction.

Decisions (the rest of the NLU relies on them):

* Full-width ASCII (``１３８``, ``ＡＢＣ``, ``＠``, ``－``) becomes half-width, and the ideographic
  space becomes a plain space. The Chinese sentence punctuation ``，。？！：；（）、“”‘’《》…``
  is kept as written: it is the normal form of Chinese text and the sentence splitter and the
  cue rules expect it. No full NFKC: it would also rewrite ``①``, ``㎡`` and ``…``.
* Traditional characters become simplified (OpenCC ``t2s``); one converter per ``Normalizer``.
* Emoji (with their variation selectors, skin tones and joiners) and control / format characters
  (zero-width space, BOM, bidi marks) are removed, not replaced.
* Runs of whitespace collapse to one space; leading and trailing space is removed.
* ASR fillers are removed only where it is safe: a stand-alone ``嗯`` / ``呃`` / ``额`` / ``唔``
  delimited by spaces or punctuation (so ``金额`` keeps its ``额``), and a repeated stand-alone
  ``喂 喂 喂`` shrinks to one ``喂``. Words such as ``那个`` or ``就是`` are left alone: they also
  carry meaning (``那个人``).
"""

from __future__ import annotations

import re
import threading
import unicodedata

import opencc

__all__ = ["Normalizer", "normalize"]

_KEEP_FULL_WIDTH = frozenset("，。？！：；（）、")
_FULL_TO_HALF = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in _KEEP_FULL_WIDTH
}
_FULL_TO_HALF[0x3000] = 0x20

_EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, supplemental symbols
    "\u2600-\u27bf"  # miscellaneous symbols and dingbats
    "\u2b00-\u2bff"  # stars, arrows used as emoji
    "\u2300-\u23ff"  # watch, hourglass, alarm clock
    "\ufe0e\ufe0f"  # variation selectors
    "\u200d"  # zero-width joiner inside emoji sequences
    "\u20e3"  # combining keycap
    "\U000e0020-\U000e007f"  # tag characters (flag sequences)
    "\u3030\u303d\u3297\u3299"
    "]+"
)
_WHITESPACE = re.compile(r"\s+")
_BOUNDARY = r"(?:^|(?<=[\s，。？！、,.?!;；:：]))"
_AFTER = r"(?=$|[\s，。？！、,.?!;；:：])"
_FILLER = re.compile(rf"{_BOUNDARY}[嗯呃额唔]+(?:[，,、]|{_AFTER})")
_REPEATED_WEI = re.compile(r"喂(?:[\s，,、]+喂)+")


def _strip_controls(text: str) -> str:
    # Cc covers C0/C1 controls (tabs and newlines become spaces first); Cf covers zero-width
    # and bidi characters that make equal-looking strings compare unequal.
    out = []
    for ch in text:
        if ch in "\t\n\r\v\f":
            out.append(" ")
        elif unicodedata.category(ch) not in {"Cc", "Cf", "Co", "Cs"}:
            out.append(ch)
    return "".join(out)


class Normalizer:
    """Normalises Chinese citizen text; builds its OpenCC converter on first use, once."""

    def __init__(self, *, strip_fillers: bool = True) -> None:
        self._strip_fillers = strip_fillers
        self._converter: opencc.OpenCC | None = None
        self._lock = threading.Lock()

    def _t2s(self) -> opencc.OpenCC:
        if self._converter is None:
            with self._lock:
                if self._converter is None:
                    self._converter = opencc.OpenCC("t2s")
        return self._converter

    def warm_up(self) -> None:
        """Build the OpenCC converter now rather than on the first message."""
        self._t2s()

    def __call__(self, text: str) -> str:
        """Return the normalised form of ``text``."""
        text = _EMOJI.sub("", _strip_controls(text.translate(_FULL_TO_HALF)))
        if not text.isascii():
            text = str(self._t2s().convert(text))
        text = _WHITESPACE.sub(" ", text).strip()
        if self._strip_fillers:
            text = self._without_fillers(text)
        return text

    @staticmethod
    def _without_fillers(text: str) -> str:
        stripped = _FILLER.sub("", text)
        if stripped != text:  # "嗯，我想问" must not start with the filler's comma
            stripped = _WHITESPACE.sub(" ", stripped).strip().lstrip("，,、 ")
        return _REPEATED_WEI.sub("喂", stripped)


def normalize(text: str) -> str:
    """Normalise one text with a fresh ``Normalizer`` (use a shared instance on hot paths)."""
    return Normalizer()(text)
