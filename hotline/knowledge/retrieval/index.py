"""The hybrid index: dense sentence vectors + BM25 on words and character bigrams.

Every question of every entry is one *slot*. A search gathers the best slots of each of the
three retrievers, scores the union with all three (cosine, and BM25 normalised by the query's
maximum), adds the entry's answer as weak evidence (:mod:`hotline.knowledge.retrieval.answers`),
fuses linearly, keeps each entry's best question, and calibrates the fused score into a
confidence (:mod:`hotline.knowledge.retrieval.calibration`).

Concurrency: encoding and tokenising happen outside any lock; the index structures are read
under a shared lock and changed under an exclusive one, held only for the faiss/BM25 update
itself (tens of milliseconds at 100,000 entries), so searches from a thread pool are safe
while a publish is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from hotline.encoders.base import Encoder, Vectors
from hotline.errors import NotFound
from hotline.knowledge.retrieval.answers import AnswerEvidence
from hotline.knowledge.retrieval.calibration import Calibration
from hotline.knowledge.retrieval.dense import DenseIndex
from hotline.knowledge.retrieval.documents import Hit, KnowledgeDocument
from hotline.knowledge.retrieval.locking import ReadWriteLock
from hotline.knowledge.retrieval.prepare import Prepared, prepare
from hotline.knowledge.retrieval.sparse import (
    FloatArray,
    IntArray,
    InvertedIndex,
    lookup,
    top_slots,
)
from hotline.knowledge.retrieval.text import TextAnalyzer

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_BUILD_CHUNK = 512


@dataclass(frozen=True)
class FusionSettings:
    """Weights of the three retrievers and how many candidates each contributes."""

    dense_weight: float = 1.0
    word_weight: float = 0.3
    char_weight: float = 0.3
    answer_dense_weight: float = 0.2
    answer_word_weight: float = 0.1
    candidates: int = 40


@dataclass(frozen=True)
class Candidate:
    """One entry in the fused ranking, before calibration."""

    entry_id: int
    question: str
    fused: float
    dense: float
    sparse: float


@dataclass
class IndexState:
    """Everything a saved index holds (see :mod:`hotline.knowledge.retrieval.store`)."""

    dense: DenseIndex
    answers: AnswerEvidence
    words: InvertedIndex = field(default_factory=InvertedIndex)
    chars: InvertedIndex = field(default_factory=InvertedIndex)
    docs: dict[int, KnowledgeDocument] = field(default_factory=dict)
    entry_slots: dict[int, tuple[int, ...]] = field(default_factory=dict)
    next_slot: int = 0
    applied_seq: int = 0
    calibration: Calibration = field(default_factory=Calibration)
    settings: FusionSettings = field(default_factory=FusionSettings)


class HybridIndex:
    """Search, upsert and remove knowledge entries; thread-safe."""

    def __init__(
        self,
        *,
        encoder: Encoder,
        state: IndexState | None = None,
        analyzer: TextAnalyzer | None = None,
        faiss_threads: int | None = 1,
    ) -> None:
        # faiss' OpenMP pool spins on all cores for one small query; on a shared server one
        # thread gives lower and steadier latency. This sets a process-wide faiss option.
        if faiss_threads is not None:
            faiss.omp_set_num_threads(faiss_threads)
        self.encoder = encoder
        self.analyzer = analyzer or TextAnalyzer()
        self.state = state or IndexState(
            dense=DenseIndex(encoder.dim), answers=AnswerEvidence(encoder.dim)
        )
        self._slot_entry: dict[int, tuple[int, str]] = {
            slot: (entry_id, question)
            for entry_id, slots in self.state.entry_slots.items()
            for slot, question in zip(slots, self.state.docs[entry_id].questions, strict=True)
        }
        self._lock = ReadWriteLock()

    @classmethod
    def build(
        cls,
        docs: Iterable[KnowledgeDocument],
        *,
        encoder: Encoder,
        settings: FusionSettings | None = None,
        calibrate: bool = True,
        progress: Progress | None = None,
        analyzer: TextAnalyzer | None = None,
    ) -> HybridIndex:
        """Index ``docs`` from scratch; fits the calibration on them when there are enough."""
        index = cls(encoder=encoder, analyzer=analyzer)
        if settings is not None:
            index.state.settings = settings
        index._load_all(list(docs), progress)
        if calibrate:
            from hotline.knowledge.retrieval.selftrain import fit_calibration

            index.state.calibration = fit_calibration(index)
        return index

    def _load_all(self, docs: list[KnowledgeDocument], progress: Progress | None) -> None:
        # Sparse side and metadata go in chunk by chunk; the dense side waits for all vectors
        # because a large index is trained on them (see DenseIndex.create).
        vectors = []
        for start in range(0, len(docs), _BUILD_CHUNK):
            chunk = docs[start : start + _BUILD_CHUNK]
            prepared = prepare(chunk, self.analyzer, self.encoder)
            with self._lock.write():
                self._insert(chunk, prepared, dense=False)
            vectors.append(prepared.vectors)
            if progress is not None:
                progress(start + len(chunk), len(docs))
        if vectors:
            stacked = np.concatenate(vectors)
            with self._lock.write():
                self.state.dense = DenseIndex.create(self.encoder.dim, stacked)
                self.state.dense.add(np.arange(len(stacked), dtype=np.int64), stacked)

    def __len__(self) -> int:
        return len(self.state.docs)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self.state.docs

    @property
    def applied_seq(self) -> int:
        """The last change-log sequence number applied to this index."""
        return self.state.applied_seq

    def upsert(self, doc: KnowledgeDocument, *, seq: int | None = None) -> None:
        """Add an entry or replace all of its questions; ``seq`` ≤ applied_seq is a no-op."""
        if seq is not None and seq <= self.state.applied_seq:
            return
        prepared = prepare([doc], self.analyzer, self.encoder)
        with self._lock.write():
            if seq is not None and seq <= self.state.applied_seq:
                return  # another thread applied a later change while this one was encoding
            if doc.entry_id in self.state.docs:
                self._drop(doc.entry_id)
            self._insert([doc], prepared)
            self._advance(seq)

    def remove(self, entry_id: int, *, seq: int | None = None) -> None:
        """Drop an entry (retire); raises NotFound for an entry that is not indexed."""
        if seq is not None and seq <= self.state.applied_seq:
            return
        with self._lock.write():
            if entry_id not in self.state.docs:
                raise NotFound(f"knowledge entry {entry_id} is not in the index")
            self._drop(entry_id)
            self._advance(seq)

    def get(self, entry_id: int) -> KnowledgeDocument:
        """The indexed document of an entry."""
        try:
            return self.state.docs[entry_id]
        except KeyError as e:
            raise NotFound(f"knowledge entry {entry_id} is not in the index") from e

    def search(self, query: str, *, k: int = 5) -> list[Hit]:
        """The ``k`` best entries for ``query``, best first, with calibrated confidences."""
        ranked = self.rank(query)
        if not ranked:
            return []
        # Margin: the top hit's lead over the runner-up (even when k == 1); every other hit's
        # gap to the top.
        runner_up = ranked[1].fused if len(ranked) > 1 else 0.0
        candidates = ranked[:k]
        best_other = [runner_up] + [candidates[0].fused] * (len(candidates) - 1)
        calibration = self.state.calibration
        return [
            Hit(
                entry_id=c.entry_id,
                score=calibration.confidence(c.fused, c.fused - other),
                matched_question=c.question,
                dense=c.dense,
                sparse=c.sparse,
            )
            for c, other in zip(candidates, best_other, strict=True)
        ]

    def rank(self, query: str, *, exclude: int | None = None) -> list[Candidate]:
        """All candidate entries by fused score (``exclude`` hides one entry, for calibration)."""
        normalised = self.analyzer.normalise(query)
        if not normalised:
            return []
        vector = self._query_vector(query, normalised)
        keyword_text = self.analyzer.keyword_text(normalised)
        words = self.analyzer.words(keyword_text)
        chars = self.analyzer.bigrams(keyword_text)
        with self._lock.read():
            return self._rank(vector, words, chars, exclude)

    def _query_vector(self, query: str, normalised: str) -> Vectors:
        """The query's sentence vector, averaged with its written form's when that differs.

        The encoder sees the text as written: it was trained on natural sentences, and on
        gov_qa the raw text scores better than the normalised one. When the lexicon turns
        spoken words into written ones (爸妈 → 父母, 过户 → 转移登记), the mean of both vectors
        ranks better than either (+0.02-0.04 recall@1 on the gov_qa colloquial sets).
        """
        written = self.analyzer.written_form(normalised)
        if written == normalised:
            return self.encoder.encode([query.strip()])[0]
        both = self.encoder.encode([query.strip(), written])
        mean = both.sum(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)

    def save(self, directory: Path) -> int:
        """Write a new snapshot generation; returns its version."""
        from hotline.knowledge.retrieval.store import save_index

        with self._lock.read():
            return save_index(self, directory)

    @classmethod
    def load(
        cls, directory: Path, *, encoder: Encoder, analyzer: TextAnalyzer | None = None
    ) -> HybridIndex:
        """Load the newest snapshot; ModelError if it is corrupt or built with another encoder.

        Pass the same ``analyzer`` configuration (extra words) the index was built with.
        """
        from hotline.knowledge.retrieval.store import load_index

        return load_index(directory, encoder=encoder, analyzer=analyzer)

    # -- internals -------------------------------------------------------------------------

    def _insert(
        self, docs: list[KnowledgeDocument], prepared: Prepared, *, dense: bool = True
    ) -> None:
        state, vectors = self.state, prepared.vectors
        start = state.next_slot
        if dense:
            state.dense.add(np.arange(start, start + len(vectors), dtype=np.int64), vectors)
        first_slots = []
        for doc in docs:
            doc_slots = tuple(range(state.next_slot, state.next_slot + len(doc.questions)))
            for slot, question in zip(doc_slots, doc.questions, strict=True):
                state.words.add(slot, prepared.words[slot - start])
                state.chars.add(slot, prepared.chars[slot - start])
                self._slot_entry[slot] = (doc.entry_id, question)
            state.docs[doc.entry_id] = doc
            state.entry_slots[doc.entry_id] = doc_slots
            state.next_slot += len(doc.questions)
            first_slots.append(doc_slots[0])
        answer_slots = [first_slots[i] for i in prepared.answered]
        state.answers.add(answer_slots, prepared.answer_vectors, prepared.answer_words)

    def _drop(self, entry_id: int) -> None:
        slots = self.state.entry_slots.pop(entry_id)
        del self.state.docs[entry_id]
        self.state.dense.remove(np.asarray(slots, dtype=np.int64))
        self.state.answers.remove(slots[0])
        for slot in slots:
            self.state.words.remove(slot)
            self.state.chars.remove(slot)
            del self._slot_entry[slot]

    def _advance(self, seq: int | None) -> None:
        if seq is not None:
            self.state.applied_seq = max(self.state.applied_seq, seq)

    def _rank(
        self, vector: Vectors, words: list[str], chars: list[str], exclude: int | None
    ) -> list[Candidate]:
        state, settings = self.state, self.state.settings
        n = settings.candidates
        dense_slots, _ = state.dense.search(vector, n)
        w_slots, w_scores, w_max = state.words.score(words)
        c_slots, c_scores, c_max = state.chars.score(chars)
        union = np.unique(
            np.concatenate(
                [dense_slots, top_slots(w_slots, w_scores, n), top_slots(c_slots, c_scores, n)]
            )
        )
        dense = state.dense.cosine(vector, union)
        sparse_weight = settings.word_weight + settings.char_weight
        sparse: FloatArray = (
            (
                settings.word_weight * lookup(w_slots, w_scores, union) / w_max
                + settings.char_weight * lookup(c_slots, c_scores, union) / c_max
            )
            / max(sparse_weight, 1e-9)
        ).astype(np.float32)
        first = [state.entry_slots[self._slot_entry[int(s)][0]][0] for s in union]
        answer_dense, answer_word = state.answers.score(vector, words, np.array(first, np.int64))
        fused: FloatArray = (
            settings.dense_weight * dense
            + sparse_weight * sparse
            + settings.answer_dense_weight * answer_dense
            + settings.answer_word_weight * answer_word
        ).astype(np.float32)
        return self._best_per_entry(union, fused, dense, sparse, exclude)

    def _best_per_entry(
        self,
        union: IntArray,
        fused: FloatArray,
        dense: FloatArray,
        sparse: FloatArray,
        exclude: int | None,
    ) -> list[Candidate]:
        best: dict[int, Candidate] = {}
        for i in np.argsort(-fused):
            entry_id, question = self._slot_entry[int(union[i])]
            if entry_id != exclude and entry_id not in best:
                best[entry_id] = Candidate(
                    entry_id, question, float(fused[i]), float(dense[i]), float(sparse[i])
                )
        return list(best.values())
