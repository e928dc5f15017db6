"""Retrieval behaviour of the hybrid index on a small hand-written knowledge base."""

from __future__ import annotations

import dataclasses

import pytest

from hotline.encoders.base import Encoder
from hotline.errors import NotFound
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.index import FusionSettings, HybridIndex
from hotline.knowledge.retrieval.lexicon import Lexicon
from hotline.knowledge.retrieval.text import TextAnalyzer
from tests.knowledge.small_kb import SMALL_KB

DENSE_ONLY = FusionSettings(dense_weight=1.0, word_weight=0.0, char_weight=0.0)
SPARSE_ONLY = FusionSettings(dense_weight=0.0, word_weight=0.3, char_weight=0.3)


def top_with(index: HybridIndex, settings: FusionSettings, query: str) -> int:
    """Top entry when the index fuses with ``settings`` (restored afterwards)."""
    saved = index.state.settings
    index.state.settings = settings
    try:
        return index.search(query, k=1)[0].entry_id
    finally:
        index.state.settings = saved


def test_exact_question_comes_first_for_every_entry(small_index: HybridIndex) -> None:
    for doc in SMALL_KB:
        hits = small_index.search(doc.questions[0], k=3)
        assert hits[0].entry_id == doc.entry_id
        assert hits[0].matched_question == doc.questions[0]


def test_hits_are_deduplicated_by_entry_and_report_the_matched_question(
    small_index: HybridIndex,
) -> None:
    hits = small_index.search("暖气不热", k=5)
    assert len({h.entry_id for h in hits}) == len(hits) == 5
    assert hits[0].entry_id == 9
    assert hits[0].matched_question == "暖气不热怎么办"


def test_keyword_only_query_is_found_by_bm25_not_by_dense(encoder: Encoder) -> None:
    # 低保 is only in entry 6's keywords; the encoder alone puts unemployment benefit first.
    # (Without the colloquial lexicon: with it, the encoder also reads 最低生活保障.)
    index = HybridIndex.build(SMALL_KB, encoder=encoder, analyzer=TextAnalyzer(lexicon=Lexicon({})))
    assert top_with(index, DENSE_ONLY, "低保") != 6
    assert top_with(index, SPARSE_ONLY, "低保") == 6
    assert index.search("低保", k=1)[0].entry_id == 6


def test_lexicon_written_form_lets_the_encoder_read_spoken_words(
    fresh_index: HybridIndex,
) -> None:
    # The packaged lexicon turns 低保 into 最低生活保障 for the encoder's second reading.
    assert top_with(fresh_index, DENSE_ONLY, "低保") == 6
    assert fresh_index.search("低保", k=1)[0].entry_id == 6


def test_paraphrase_without_shared_words_is_found_by_dense_not_by_bm25(
    fresh_index: HybridIndex,
) -> None:
    query = "屋里一点都不暖和"
    hit = fresh_index.search(query, k=1)[0]
    assert hit.entry_id == 9
    assert hit.sparse == 0.0  # no keyword overlap at all: only the encoder can see it
    assert top_with(fresh_index, DENSE_ONLY, query) == 9


def test_upsert_replaces_all_questions(fresh_index: HybridIndex) -> None:
    fresh_index.upsert(KnowledgeDocument(9, ("集中供热收费标准是多少？",), version=2))
    hits = fresh_index.search("暖气不热怎么办", k=5)
    assert all(h.matched_question != "暖气不热怎么办" for h in hits)
    assert fresh_index.search("集中供热收费标准", k=1)[0].entry_id == 9
    assert fresh_index.get(9).version == 2
    assert len(fresh_index) == len(SMALL_KB)


def test_upsert_adds_a_new_entry(fresh_index: HybridIndex) -> None:
    fresh_index.upsert(KnowledgeDocument(99, ("电动自行车在哪里上牌照？",)))
    assert fresh_index.search("电动车上牌去哪", k=1)[0].entry_id == 99
    assert len(fresh_index) == len(SMALL_KB) + 1


def test_remove_drops_an_entry(fresh_index: HybridIndex) -> None:
    fresh_index.remove(15)
    assert 15 not in fresh_index
    assert all(h.entry_id != 15 for h in fresh_index.search("养犬登记证怎么办理", k=10))
    with pytest.raises(NotFound):
        fresh_index.remove(15)


def test_changes_at_or_below_the_applied_sequence_are_skipped(fresh_index: HybridIndex) -> None:
    fresh_index.remove(14, seq=5)
    fresh_index.upsert(KnowledgeDocument(14, ("路灯坏了找谁",)), seq=5)  # replayed: ignored
    assert 14 not in fresh_index
    assert fresh_index.applied_seq == 5


def test_empty_query_returns_no_hits(small_index: HybridIndex) -> None:
    assert small_index.search("  请问  ", k=3) == []


def test_document_needs_a_question() -> None:
    with pytest.raises(ValueError, match="at least one"):
        KnowledgeDocument(1, ())
    with pytest.raises(ValueError, match="at least one"):
        KnowledgeDocument(1, ("  ",))


def test_build_reports_progress(encoder: Encoder, kb_analyzer: TextAnalyzer) -> None:
    calls: list[tuple[int, int]] = []
    docs = [
        dataclasses.replace(d, entry_id=d.entry_id + 100 * i) for i in range(40) for d in SMALL_KB
    ]
    HybridIndex.build(
        docs,
        encoder=encoder,
        calibrate=False,
        progress=lambda *a: calls.append(a),
        analyzer=kb_analyzer,
    )
    assert calls
    assert calls[-1][1] == len(docs)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_answer_text_breaks_a_tie_between_identical_questions(fresh_index: HybridIndex) -> None:
    answer = "新生儿落户需携带父母双方户口本、出生医学证明到派出所办理。"
    fresh_index.upsert(KnowledgeDocument(50, ("新生儿落户怎么办理？",), answer=answer))
    fresh_index.upsert(KnowledgeDocument(51, ("新生儿落户怎么办理？",)))
    ranked = [h.entry_id for h in fresh_index.search("孩子落户要带户口本和出生证明吗", k=5)]
    assert ranked.index(50) < ranked.index(51)
    fresh_index.upsert(KnowledgeDocument(50, ("新生儿落户怎么办理？",)))  # answer withdrawn
    hits = fresh_index.search("孩子落户要带户口本和出生证明吗", k=5)
    scores = {h.entry_id: h.score for h in hits}
    assert scores[50] == pytest.approx(scores[51], abs=1e-6)
