"""A colloquial → official vocabulary, applied to queries.

Callers say 社保, 老公, 打的, 过户; the standard questions say 社会保险, 配偶, 出租汽车,
转移登记. The dense encoder bridges some of that, BM25 none. The lexicon (package data
``data/colloquial.txt``, hand-written, general government-service words only) is used twice
on a query: :meth:`Lexicon.expand` adds the official terms for the keyword analyzers (the
colloquial word stays, so a question that uses it still matches), and :meth:`Lexicon.rewrite`
substitutes them to give the encoder a second, written-style reading of the query.

Only queries are expanded. Expanding the standard questions as well lengthened them and
added common terms (单位, 企业, 室内) to many of them: BM25 alone fell from 0.70 to 0.63
recall@1 on the gov_qa tuning queries, against 0.70 with query-side expansion only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from hotline.errors import ConfigError

PACKAGED = "colloquial.txt"


def _packaged_text() -> str:
    return (
        resources.files("hotline.knowledge.retrieval")
        .joinpath("data", PACKAGED)
        .read_text(encoding="utf-8")
    )


def parse_lexicon(text: str, *, source: str = PACKAGED) -> dict[str, tuple[str, ...]]:
    """``colloquial → official terms`` from the file format; ConfigError names a bad line."""
    entries: dict[str, tuple[str, ...]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, terms = (part.strip() for part in line.partition("\t"))
        if not key or not terms.split():
            raise ConfigError(
                f"{source} line {number}: expected 'colloquial<TAB>official terms', got {raw!r}"
            )
        entries[key] = tuple(dict.fromkeys(entries.get(key, ()) + tuple(terms.split())))
    return entries


class Lexicon:
    """Finds colloquial forms in a (normalised) text and lists the official terms to add."""

    def __init__(self, entries: dict[str, tuple[str, ...]]) -> None:
        self.entries = entries
        keys = sorted(entries, key=len, reverse=True)  # longest first: 北京户口 before 户口
        # The longest key starting at each position (a zero-width look-ahead), so that keys
        # that overlap are all found: 补交社保 holds both 补交 and 交社保.
        alternation = "|".join(map(re.escape, keys))
        self._starts = re.compile(f"(?=({alternation}))") if keys else None
        # An official term that holds a key (住房公积金 holds 公积金, 结婚登记 holds 结婚) is
        # written style already: the rewrite leaves it whole instead of doubling it
        # (住房住房公积金). The keyword side still adds the key's other terms (婚姻登记).
        official = {t for terms in entries.values() for t in terms if t not in entries}
        kept = [t for t in official if any(key in t for key in keys)]
        forms = sorted([*keys, *kept], key=len, reverse=True)
        self._rewrite_pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    @classmethod
    def packaged(cls, normalise: Callable[[str], str] | None = None) -> Lexicon:
        """The lexicon shipped with the package, keys in ``normalise``'s canonical form."""
        return cls.from_text(_packaged_text(), normalise=normalise)

    @classmethod
    def from_file(cls, path: Path, normalise: Callable[[str], str] | None = None) -> Lexicon:
        """A site's own lexicon file (same format as the packaged one)."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read the colloquial lexicon {path}: {e}") from e
        return cls.from_text(text, normalise=normalise, source=str(path))

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        normalise: Callable[[str], str] | None = None,
        source: str = PACKAGED,
    ) -> Lexicon:
        """Parse ``text``; keys go through ``normalise`` so they match normalised input."""
        merged: dict[str, tuple[str, ...]] = {}
        for key, terms in parse_lexicon(text, source=source).items():
            canonical = normalise(key) if normalise else key
            if canonical:
                merged[canonical] = tuple(dict.fromkeys(merged.get(canonical, ()) + terms))
        return cls(merged)

    def expansions(self, text: str) -> list[str]:
        """Official terms for the colloquial forms in ``text`` that it does not already hold."""
        terms = dict.fromkeys(
            t for key in self._found(text) for t in self.entries[key] if t not in text
        )
        return list(terms)

    def _found(self, text: str) -> Iterator[str]:
        """Keys in ``text``, except those inside a longer key (户口 in 北京户口)."""
        if self._starts is None:
            return
        end = 0
        for match in self._starts.finditer(text):
            key = match.group(1)
            if match.start() + len(key) > end:
                end = match.start() + len(key)
                yield key

    def rewrite(self, text: str) -> str:
        """``text`` with every colloquial form replaced by its first official term."""
        if self._rewrite_pattern is None:
            return text
        return self._rewrite_pattern.sub(self._replacement, text)

    def _replacement(self, match: re.Match[str]) -> str:
        form = match.group(0)
        return self.entries[form][0] if form in self.entries else form

    def expand(self, text: str) -> str:
        """``text`` followed by its expansions (space-separated), for the keyword analyzers."""
        extra = self.expansions(text)
        return f"{text} {' '.join(extra)}" if extra else text
