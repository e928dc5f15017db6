"""Word segmentation with a private jieba tokenizer that knows the hotline's and the city's words.

Each ``CityTokenizer`` owns its own ``jieba.Tokenizer()``: the module-level jieba functions mutate a
process-wide tokenizer, which would leak one component's vocabulary into another's. Loading
jieba's dictionary takes about a second, so it happens on first use (or ``warm_up``), once per
process; each instance then copies it and adds its words once, under a lock.
"""

from __future__ import annotations

import functools
import logging
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from hotline.errors import ConfigError
from hotline.nlu.gazetteer import Gazetteer

if TYPE_CHECKING:
    import jieba

__all__ = ["DEFAULT_DICT_PATH", "CityTokenizer", "Token", "import_jieba"]

logger = logging.getLogger(__name__)

DEFAULT_DICT_PATH = Path(__file__).parent / "data" / "city_dict.txt"

Token = tuple[str, int, int]


def import_jieba() -> ModuleType:
    """Import jieba without its import-time deprecation noise.

    jieba 0.42 imports pkg_resources, which recent setuptools marks deprecated. The warning is
    jieba's, not ours: silence exactly that import, here, instead of adding a global filter.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*pkg_resources.*")
        import jieba
    module: ModuleType = jieba
    return module


@functools.cache
def _base_frequencies() -> tuple[dict[str, int], int]:
    """jieba's default word frequencies, loaded once per process.

    Loading them takes about a second; every CityTokenizer copies them before adding its own
    words, so instances stay independent while only the first one pays the load.
    """
    base = import_jieba().Tokenizer()
    base.initialize()
    return base.FREQ, base.total


def _read_dictionary(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Parse a jieba userdict file: ``word [freq] [tag]`` per line, ``#`` comments allowed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"nlu: cannot read the city dictionary {path}: {exc}") from exc
    entries: list[tuple[str, int | None, str | None]] = []
    for number, line in enumerate(lines, start=1):
        parts = line.split("#", 1)[0].split()
        if not parts:
            continue
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        if len(parts) > 3:
            raise ConfigError(f"nlu: {path}:{number} is not 'word [freq] [tag]'")
        entries.append((parts[0], freq, tag))
    return entries


class CityTokenizer:
    """Segments Chinese text with the city dictionary, the gazetteer's names and extra words."""

    def __init__(
        self,
        *,
        gazetteer: Gazetteer | None = None,
        dictionary_path: Path | None = None,
        extra_words: Iterable[str] = (),
    ) -> None:
        self._gazetteer = gazetteer
        self._dictionary_path = dictionary_path or DEFAULT_DICT_PATH
        self._extra_words = tuple(w.strip() for w in extra_words if w.strip())
        self._jieba: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    def _build(self) -> jieba.Tokenizer:
        tokenizer = import_jieba().Tokenizer()
        frequencies, total = _base_frequencies()
        tokenizer.FREQ, tokenizer.total = dict(frequencies), total
        tokenizer.initialized = True
        for word, freq, tag in _read_dictionary(self._dictionary_path):
            tokenizer.add_word(word, freq, tag)
        if self._gazetteer is not None:
            for place in self._gazetteer.place_names():
                tokenizer.add_word(place.surface, None, "ns")
        for word in self._extra_words:
            tokenizer.add_word(word)
        logger.debug("nlu.tokenizer.ready extra_words=%d", len(self._extra_words))
        return tokenizer

    def _tokenizer(self) -> jieba.Tokenizer:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    self._jieba = self._build()
        return self._jieba

    def warm_up(self) -> None:
        """Load jieba's dictionary and the city words now."""
        self._tokenizer()

    def spans(self, text: str) -> list[Token]:
        """Words with their start and end offsets in ``text``; whitespace is dropped."""
        return [
            (word, start, end)
            for word, start, end in self._tokenizer().tokenize(text, HMM=True)
            if word.strip()
        ]

    def tokenize(self, text: str) -> tuple[str, ...]:
        """The words of ``text`` in order; whitespace is dropped, punctuation kept."""
        return tuple(word for word, _, _ in self.spans(text))
