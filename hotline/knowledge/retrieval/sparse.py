"""BM25 over an inverted index whose postings are numpy-viewable arrays.

A query touches only the postings of its own terms (vectorised, no loop over documents).
Documents live in integer *slots*; removal tombstones the slot and fixes the document
frequencies at once, and :meth:`InvertedIndex.compact` drops tombstoned postings when they
pile up (the slots themselves stay valid, so the dense index and this one share ids).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class InvertedIndex:
    """Okapi BM25 with incremental add/remove; scores are also given normalised to [0, 1]."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, max_df: float = 0.05) -> None:
        self.k1 = k1
        self.b = b
        self.max_df = max_df
        self._slots: dict[str, array[int]] = {}
        self._tfs: dict[str, array[float]] = {}
        self._length = np.zeros(1024, dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._count = 0
        self._total_length = 0.0
        self._dead = 0

    def __len__(self) -> int:
        return self._count

    def add(self, slot: int, terms: Sequence[str]) -> None:
        """Index one document under a slot that has never been used."""
        self._reserve(slot)
        if self._alive[slot] or self._length[slot] < 0:
            raise ValueError(f"slot {slot} is already used")
        for term, tf in Counter(terms).items():
            self._slots.setdefault(term, array("q")).append(slot)
            self._tfs.setdefault(term, array("f")).append(float(tf))
        self._alive[slot] = True
        self._length[slot] = len(terms)
        self._count += 1
        self._total_length += len(terms)

    def remove(self, slot: int) -> None:
        """Tombstone a slot; its postings are skipped until the next compaction."""
        if slot >= len(self._alive) or not self._alive[slot]:
            raise KeyError(slot)
        self._alive[slot] = False
        self._total_length -= float(self._length[slot])
        self._length[slot] = -1.0  # marks the slot as used-and-dead, never reused
        self._count -= 1
        self._dead += 1
        if self._dead > 1000 and self._dead > self._count // 4:
            self.compact()

    def _reserve(self, slot: int) -> None:
        if slot < len(self._alive):
            return
        size = max(slot + 1, 2 * len(self._alive))
        self._length = np.concatenate(
            [self._length, np.zeros(size - len(self._length), np.float32)]
        )
        self._alive = np.concatenate([self._alive, np.zeros(size - len(self._alive), bool)])

    def compact(self) -> None:
        """Rewrite postings without tombstoned slots."""
        for term in list(self._slots):
            slots = np.frombuffer(self._slots[term], dtype=np.int64)
            keep = self._alive[slots]
            if not keep.any():
                del self._slots[term], self._tfs[term]
            elif not keep.all():
                tfs = np.frombuffer(self._tfs[term], dtype=np.float32)
                self._slots[term] = array("q", slots[keep].tobytes())
                self._tfs[term] = array("f", tfs[keep].tobytes())
        self._dead = 0

    def _idf(self, df: int) -> float:
        # The "+1" form never goes negative, so very common terms still count a little.
        return math.log(1.0 + (self._count - df + 0.5) / (df + 0.5))

    def score(self, terms: Sequence[str]) -> tuple[IntArray, FloatArray, float]:
        """Slots with a non-zero score, their raw BM25 scores, and the query's maximum score.

        The maximum is what a document matching every query term infinitely often would get
        (unseen terms count with the highest idf), so ``scores / maximum`` lies in [0, 1] and
        is comparable across queries.
        """
        avgdl = max(self._total_length / max(self._count, 1), 1e-6)
        all_slots, all_scores = [], []
        maximum = 0.0
        # Terms in more than max_df of a large index are treated as stopwords: their idf is
        # small and their postings long, so they cost much time for little evidence.
        too_common = max(self.max_df * self._count, 2000.0)
        for term, qtf in Counter(terms).items():
            postings = self._slots.get(term)
            if postings is not None and len(postings) > too_common:
                continue
            slots = np.frombuffer(postings, np.int64) if postings else np.zeros(0, np.int64)
            live = self._alive[slots]
            slots = slots[live]
            idf = self._idf(len(slots))
            maximum += qtf * idf * (self.k1 + 1.0)
            if len(slots) == 0:
                continue
            tf = np.frombuffer(self._tfs[term], dtype=np.float32)[live]
            norm = self.k1 * (1.0 - self.b + self.b * self._length[slots] / avgdl)
            all_slots.append(slots)
            all_scores.append(qtf * idf * tf * (self.k1 + 1.0) / (tf + norm))
        maximum = max(maximum, 1e-6)
        if not all_slots:
            return np.zeros(0, np.int64), np.zeros(0, np.float32), maximum
        summed = np.bincount(np.concatenate(all_slots), weights=np.concatenate(all_scores))
        hit = np.flatnonzero(summed > 0)  # on a bool mask: 3-4x faster than on floats
        return hit.astype(np.int64), summed[hit].astype(np.float32), maximum

    def top(self, terms: Sequence[str], n: int) -> tuple[IntArray, FloatArray, float]:
        """The ``n`` best slots by BM25 (unordered), with scores and the query's maximum."""
        slots, scores, maximum = self.score(terms)
        if len(slots) > n:
            best = np.argpartition(-scores, n - 1)[:n]
            slots, scores = slots[best], scores[best]
        return slots, scores, maximum

    def state(self) -> dict[str, npt.NDArray[np.generic]]:
        """Arrays that restore the index with :meth:`from_state` (tombstones left out).

        Read-only, so a snapshot can be taken while searches run.
        """
        vocab, sizes, all_slots, all_tfs = [], [], [], []
        for term in sorted(self._slots):
            slots = np.frombuffer(self._slots[term], dtype=np.int64)
            keep = self._alive[slots]
            if keep.any():
                vocab.append(term)
                sizes.append(int(keep.sum()))
                all_slots.append(slots[keep])
                all_tfs.append(np.frombuffer(self._tfs[term], dtype=np.float32)[keep])
        return {
            "params": np.array([self.k1, self.b, self.max_df, self._total_length], np.float64),
            "vocab": np.array(vocab, dtype=np.str_),
            "indptr": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "slots": np.concatenate(all_slots) if all_slots else np.zeros(0, np.int64),
            "tfs": np.concatenate(all_tfs) if all_tfs else np.zeros(0, np.float32),
            "length": self._length.copy(),
            "alive": self._alive.copy(),
        }

    @classmethod
    def from_state(cls, state: dict[str, npt.NDArray[np.generic]]) -> InvertedIndex:
        """Inverse of :meth:`state`."""
        k1, b, max_df, total_length = (float(x) for x in state["params"])
        index = cls(k1=k1, b=b, max_df=max_df)
        indptr = state["indptr"].astype(np.int64)
        slots = state["slots"].astype(np.int64)
        tfs = state["tfs"].astype(np.float32)
        for i, term in enumerate(state["vocab"].tolist()):
            lo, hi = int(indptr[i]), int(indptr[i + 1])
            index._slots[term] = array("q", slots[lo:hi].tobytes())
            index._tfs[term] = array("f", tfs[lo:hi].tobytes())
        index._length = state["length"].astype(np.float32).copy()
        index._alive = state["alive"].astype(bool).copy()
        index._count = int(index._alive.sum())
        index._total_length = total_length
        return index


def top_slots(slots: IntArray, scores: FloatArray, n: int) -> IntArray:
    """The ``n`` slots with the highest scores (unordered)."""
    if len(slots) <= n:
        return slots
    return slots[np.argpartition(-scores, n - 1)[:n]]


def lookup(slots: IntArray, scores: FloatArray, wanted: IntArray) -> FloatArray:
    """Scores of ``wanted`` slots, 0 where absent; ``slots`` must be sorted ascending."""
    if len(slots) == 0:
        return np.zeros(len(wanted), np.float32)
    pos = np.minimum(np.searchsorted(slots, wanted), len(slots) - 1)
    return np.where(slots[pos] == wanted, scores[pos], 0.0).astype(np.float32)
