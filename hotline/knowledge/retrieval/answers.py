"""The answer text as weak evidence for ranking an entry's questions.

Citizens often use the words of the answer rather than of the question (they describe their
situation). Answers are not searched on their own; they only re-rank candidates found through
the questions: the cosine between the query and the first :data:`ANSWER_CHARS` characters of
the answer, and BM25 of the query against the whole answer. On the gov_qa colloquial queries
this added about 0.025 recall@1 in two-fold cross-validation (bench/README.md).

Answer data is keyed by the entry's first question slot, which is never reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hotline.encoders.base import Vectors
from hotline.knowledge.retrieval.sparse import FloatArray, IntArray, InvertedIndex, lookup

ANSWER_CHARS = 128


class AnswerEvidence:
    """Answer vectors (float16, by slot) and an answer BM25 index."""

    def __init__(
        self,
        dim: int,
        vectors: np.ndarray | None = None,
        present: np.ndarray | None = None,
        words: InvertedIndex | None = None,
    ) -> None:
        self.dim = dim
        self._vectors = vectors if vectors is not None else np.zeros((0, dim), np.float16)
        self._present = present if present is not None else np.zeros(0, bool)
        self.words = words or InvertedIndex()

    def add(self, slots: list[int], vectors: Vectors, terms: list[list[str]]) -> None:
        """Store the answers of entries whose first question slots are ``slots``."""
        if not slots:
            return
        self._reserve(max(slots))
        self._vectors[slots] = vectors.astype(np.float16)
        self._present[slots] = True
        for slot, answer_terms in zip(slots, terms, strict=True):
            self.words.add(slot, answer_terms)

    def remove(self, slot: int) -> None:
        """Forget an entry's answer (no-op for an entry without one)."""
        if slot < len(self._present) and self._present[slot]:
            self._present[slot] = False
            self._vectors[slot] = 0
            self.words.remove(slot)

    def score(
        self, vector: Vectors, terms: list[str], slots: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Answer cosine and normalised answer BM25 for each of ``slots`` (0 without answer)."""
        inside = slots < len(self._present)
        cosine = np.zeros(len(slots), np.float32)
        known = slots[inside]
        cosine[inside] = (self._vectors[known].astype(np.float32) @ vector) * self._present[known]
        hit_slots, hit_scores, maximum = self.words.score(terms)
        return cosine, lookup(hit_slots, hit_scores, slots) / np.float32(maximum)

    def arrays(self) -> dict[str, Any]:
        """The vector store, for a snapshot."""
        # Capacity grows by doubling; a snapshot keeps only the rows up to the last answer.
        used = int(np.flatnonzero(self._present)[-1]) + 1 if self._present.any() else 0
        return {"vectors": self._vectors[:used].copy(), "present": self._present[:used].copy()}

    def _reserve(self, slot: int) -> None:
        if slot < len(self._present):
            return
        size = max(slot + 1, 2 * len(self._present), 1024)
        grown = np.zeros((size, self.dim), np.float16)
        grown[: len(self._vectors)] = self._vectors
        present = np.zeros(size, bool)
        present[: len(self._present)] = self._present
        self._vectors, self._present = grown, present
