"""Sparse lexical evidence for Chinese text: character n-grams and jieba word n-grams.

Both are TF-IDF views built from plain arrays (vocabulary + idf), so a trained featurizer can be
saved without pickle and rebuilt exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jieba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

_DIGITS = re.compile(r"\d+")
_MASK = re.compile(r"\*+")
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC, lower case, and collapse digits, masks and spaces.

    Digit runs (house numbers, dates, phone numbers) and ``***`` masks carry no topic, so
    each run becomes one placeholder; this keeps n-grams about words, not about numbers.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIGITS.sub("0", text)
    text = _MASK.sub("*", text)
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class FeatureConfig:
    """How the lexical views are built; stored in the artifact manifest."""

    char_ngrams: tuple[int, int] = (1, 3)
    #: None (the default) leaves the jieba word view out: on msgabench it lowered domain
    #: macro-F1 (0.510 vs 0.523) and cost ~2 ms a message; char n-grams already see words
    word_ngrams: tuple[int, int] | None = None
    min_df: int = 2
    max_char_features: int = 300_000
    max_word_features: int = 200_000
    #: weight of the word view relative to the character view in the joint matrix
    word_weight: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "char_ngrams": list(self.char_ngrams),
            "word_ngrams": None if self.word_ngrams is None else list(self.word_ngrams),
            "min_df": self.min_df,
            "max_char_features": self.max_char_features,
            "max_word_features": self.max_word_features,
            "word_weight": self.word_weight,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureConfig:
        """Inverse of :meth:`to_json`."""
        words = data["word_ngrams"]
        return cls(
            char_ngrams=(int(data["char_ngrams"][0]), int(data["char_ngrams"][1])),
            word_ngrams=None if words is None else (int(words[0]), int(words[1])),
            min_df=int(data["min_df"]),
            max_char_features=int(data["max_char_features"]),
            max_word_features=int(data["max_word_features"]),
            word_weight=float(data["word_weight"]),
        )


class WordSplitter:
    """jieba segmentation with a private tokenizer (the module-level one is process-wide)."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()

    def __call__(self, text: str) -> list[str]:
        """Words of ``text`` without whitespace tokens."""
        return [w for w in self._tokenizer.lcut(text) if w.strip()]


class TfidfView:
    """One TF-IDF view (sublinear tf, smooth idf, L2 rows) over a fixed vocabulary."""

    def __init__(self, vocabulary: Sequence[str], idf: npt.NDArray[np.float64], **kwargs: Any):
        self.vocabulary = list(vocabulary)
        self.idf = np.asarray(idf, dtype=np.float64)
        self._idf32 = self.idf.astype(np.float32)
        self._index = {term: i for i, term in enumerate(self.vocabulary)}
        self._char_range: tuple[int, int] | None = None
        if kwargs.get("analyzer") == "char":
            low, high = kwargs["ngram_range"]
            self._char_range = (int(low), int(high))
        self._counter = CountVectorizer(
            vocabulary={term: i for i, term in enumerate(self.vocabulary)},
            lowercase=False,
            **kwargs,
        )

    @classmethod
    def fit(
        cls, docs: Sequence[Any], *, min_df: int, max_features: int, **kwargs: Any
    ) -> TfidfView:
        """Learn vocabulary and idf from ``docs`` (strings or token lists, per ``kwargs``)."""
        # min_df above the number of documents would leave no vocabulary on tiny datasets
        counter = CountVectorizer(
            lowercase=False,
            min_df=min(min_df, max(1, len(docs) // 2)),
            max_features=max_features,
            **kwargs,
        )
        counts = counter.fit_transform(docs)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        idf = np.log((1 + counts.shape[0]) / (1 + df)) + 1.0
        vocabulary = sorted(counter.vocabulary_, key=counter.vocabulary_.__getitem__)
        return cls(vocabulary, idf, **kwargs)

    def transform(self, docs: Sequence[Any]) -> sp.csr_matrix:
        """TF-IDF rows for ``docs``."""
        if self._char_range is None:
            counts = self._counter.transform(docs).astype(np.float32)
        else:
            counts = self._char_counts(docs, *self._char_range)
        counts.data = 1.0 + np.log(counts.data)
        # scale each stored value by its column's idf, then each row to unit length
        counts.data *= self._idf32[counts.indices]
        row_of_value = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(row_of_value, counts.data**2, minlength=counts.shape[0]))
        norms[norms == 0] = 1.0
        counts.data /= norms[row_of_value].astype(np.float32)
        return sp.csr_matrix(counts)

    def _char_counts(self, docs: Sequence[str], low: int, high: int) -> sp.csr_matrix:
        """Character n-gram counts, as CountVectorizer(analyzer="char") counts them.

        A plain dict walk: CountVectorizer's validation and set-up cost about 1 ms a call,
        which is most of the lexical time for one message. Texts must already have their
        whitespace runs collapsed (``normalise_text`` does), as sklearn would do.
        """
        index = self._index
        indptr, indices, values = [0], list[int](), list[int]()
        for doc in docs:
            row: dict[int, int] = {}
            length = len(doc)
            for n in range(low, high + 1):
                for start in range(length - n + 1):
                    column = index.get(doc[start : start + n])
                    if column is not None:
                        row[column] = row.get(column, 0) + 1
            indices.extend(row)
            values.extend(row.values())
            indptr.append(len(indices))
        counts = sp.csr_matrix(
            (
                np.asarray(values, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(docs), len(self.vocabulary)),
        )
        counts.sort_indices()
        return counts


def _pack_terms(terms: Sequence[str]) -> npt.NDArray[np.uint8]:
    # One UTF-8 buffer joined by newlines: compact and loadable without pickle.
    # normalise_text turns every newline into a space, so no term contains one.
    return np.frombuffer("\n".join(terms).encode("utf-8"), dtype=np.uint8)


def _unpack_terms(buffer: npt.NDArray[np.uint8]) -> list[str]:
    text = buffer.tobytes().decode("utf-8")
    return text.split("\n") if text else []


class LexicalFeaturizer:
    """Character n-grams of the normalised text joined with jieba word n-grams."""

    def __init__(
        self, config: FeatureConfig, char_view: TfidfView, word_view: TfidfView | None
    ) -> None:
        if (word_view is None) != (config.word_ngrams is None):
            raise ValueError("the word view must be present exactly when word_ngrams is set")
        self.config = config
        self._char = char_view
        self._word = word_view
        self._splitter = None if word_view is None else WordSplitter()

    @staticmethod
    def _char_kwargs(config: FeatureConfig) -> dict[str, Any]:
        return {"analyzer": "char", "ngram_range": config.char_ngrams}

    @staticmethod
    def _word_kwargs(config: FeatureConfig) -> dict[str, Any]:
        return {"analyzer": "word", "token_pattern": r"\S+", "ngram_range": config.word_ngrams}

    @classmethod
    def fit(cls, texts: Sequence[str], config: FeatureConfig) -> LexicalFeaturizer:
        """Learn both vocabularies from ``texts``."""
        normalised = [normalise_text(t) for t in texts]
        char_view = TfidfView.fit(
            normalised,
            min_df=config.min_df,
            max_features=config.max_char_features,
            **cls._char_kwargs(config),
        )
        if config.word_ngrams is None:
            return cls(config, char_view, None)
        splitter = WordSplitter()
        word_view = TfidfView.fit(
            [" ".join(splitter(t)) for t in normalised],
            min_df=config.min_df,
            max_features=config.max_word_features,
            **cls._word_kwargs(config),
        )
        return cls(config, char_view, word_view)

    @property
    def n_features(self) -> int:
        """Columns of :meth:`transform`'s output."""
        words = 0 if self._word is None else len(self._word.vocabulary)
        return len(self._char.vocabulary) + words

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The joint sparse matrix, one row per text."""
        normalised = [normalise_text(t) for t in texts]
        char_rows = self._char.transform(normalised)
        if self._word is None or self._splitter is None:
            return char_rows
        words = [" ".join(self._splitter(t)) for t in normalised]
        word_rows = self._word.transform(words) * np.float32(self.config.word_weight)
        return sp.csr_matrix(sp.hstack([char_rows, word_rows], format="csr"))

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Everything needed to rebuild the featurizer, as plain arrays."""
        arrays: dict[str, npt.NDArray[Any]] = {
            "char_terms": _pack_terms(self._char.vocabulary),
            "char_idf": self._char.idf,
        }
        if self._word is not None:
            arrays["word_terms"] = _pack_terms(self._word.vocabulary)
            arrays["word_idf"] = self._word.idf
        return arrays

    @classmethod
    def from_arrays(
        cls, config: FeatureConfig, arrays: dict[str, npt.NDArray[Any]]
    ) -> LexicalFeaturizer:
        """Inverse of :meth:`to_arrays`; raises ``ValueError`` on inconsistent arrays."""
        char_view = _view_from_arrays("char", arrays, cls._char_kwargs(config))
        if config.word_ngrams is None:
            return cls(config, char_view, None)
        return cls(config, char_view, _view_from_arrays("word", arrays, cls._word_kwargs(config)))


def _view_from_arrays(
    name: str, arrays: dict[str, npt.NDArray[Any]], kwargs: dict[str, Any]
) -> TfidfView:
    terms = _unpack_terms(arrays[f"{name}_terms"])
    idf = arrays[f"{name}_idf"]
    if len(terms) != len(idf):
        raise ValueError(f"{name} vocabulary has {len(terms)} terms but {len(idf)} idf values")
    return TfidfView(terms, idf, **kwargs)
