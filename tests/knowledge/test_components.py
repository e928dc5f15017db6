"""The building blocks: BM25 inverted index, dense index (exact and IVF), text analyzer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.knowledge.retrieval.dense import DenseIndex
from hotline.knowledge.retrieval.sparse import InvertedIndex
from hotline.knowledge.retrieval.text import TextAnalyzer


def test_bm25_prefers_rare_terms_and_normalises_into_unit_interval() -> None:
    index = InvertedIndex()
    index.add(0, ["公积金", "贷款", "利率"])
    index.add(1, ["公积金", "提取"])
    index.add(2, ["身份证", "补办"])
    slots, scores, maximum = index.score(["公积金", "利率"])
    ranked = dict(zip(slots.tolist(), scores.tolist(), strict=True))
    assert set(ranked) == {0, 1}
    assert ranked[0] > ranked[1]
    assert all(0 < s / maximum <= 1 for s in ranked.values())


def test_bm25_remove_compact_and_state_round_trip() -> None:
    index = InvertedIndex()
    for slot in range(30):
        index.add(slot, ["共同", f"词{slot}"])
    for slot in range(0, 30, 2):
        index.remove(slot)
    with pytest.raises(KeyError):
        index.remove(0)
    with pytest.raises(ValueError, match="already used"):
        index.add(0, ["重复"])
    slots, _, _ = index.score(["共同", "词4", "词5"])
    assert set(slots.tolist()) == set(range(1, 30, 2))
    restored = InvertedIndex.from_state(index.state())
    index.compact()
    for query in (["共同"], ["词5", "词7"], ["没有"]):
        a, b = index.score(query), restored.score(query)
        assert a[0].tolist() == b[0].tolist()
        assert np.allclose(a[1], b[1])
        assert a[2] == pytest.approx(b[2])
    assert len(restored) == 15


def test_bm25_skips_terms_in_too_many_documents() -> None:
    index = InvertedIndex(max_df=0.05)
    for slot in range(2500):
        index.add(slot, ["常见", f"罕见{slot}"])
    slots, _, _ = index.score(["常见"])
    assert len(slots) == 0  # 2,500 postings > max(5 % of 2,500, 2,000): treated as a stopword
    slots, _, _ = index.score(["常见", "罕见7"])
    assert slots.tolist() == [7]


@pytest.mark.parametrize("ivf", [False, True])
def test_dense_index_add_search_remove_save(ivf: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = DenseIndex.create(16, vectors, ivf_min_vectors=1000 if ivf else 10_000)
    assert index.approximate is ivf
    slots = np.arange(100, 3100, dtype=np.int64)
    index.add(slots, vectors)
    found, scores = index.search(vectors[5], 5)
    assert found[0] == 105
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(index.vectors(np.array([105, 2000])), vectors[[5, 1900]])
    index.remove(np.array([105], dtype=np.int64))
    assert 105 not in index.search(vectors[5], 5)[0].tolist()
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss", 16)
    assert len(loaded) == 2999
    assert loaded.approximate is ivf
    assert loaded.search(vectors[6], 1)[0].tolist() == [106]
    with pytest.raises(ValueError, match="dimension"):
        DenseIndex.load(tmp_path / "dense.faiss", 32)


def test_analyzer_normalises_colloquial_text() -> None:
    analyzer = TextAnalyzer()
    assert analyzer.normalise("請問 駕照丟了咋辦啊？") == "驾驶证丢了怎么办 ?"
    words = analyzer.words(analyzer.normalise("我想问一下公积金贷款利率是多少"))
    assert "公积金" in words
    assert "贷款" in words
    assert "我" not in words
    assert analyzer.bigrams("补办 身份证") == ["补办", "身份", "份证"]
