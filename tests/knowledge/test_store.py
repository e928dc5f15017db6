"""Snapshots on disk: round trip, versions, and refusal of unusable snapshots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from hotline.encoders.base import Encoder, Vectors
from hotline.errors import ModelError
from hotline.knowledge.retrieval.documents import KnowledgeDocument
from hotline.knowledge.retrieval.index import HybridIndex
from hotline.knowledge.retrieval.store import snapshot_version
from hotline.knowledge.retrieval.text import TextAnalyzer

QUERIES = ("暖气不热", "身份证丢了", "低保", "工地半夜还在干活")


class MismatchedEncoder:
    """Stands in for another model; only its name and dimension matter here."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> Vectors:
        raise AssertionError("loading must fail before anything is encoded")


def test_round_trip_keeps_results_sequence_and_calibration(
    fresh_index: HybridIndex, encoder: Encoder, kb_analyzer: TextAnalyzer, tmp_path: Path
) -> None:
    fresh_index.remove(14, seq=3)
    version = fresh_index.save(tmp_path)
    loaded = HybridIndex.load(tmp_path, encoder=encoder, analyzer=kb_analyzer)
    assert version == snapshot_version(tmp_path) == 1
    assert len(loaded) == len(fresh_index)
    assert loaded.applied_seq == 3
    assert loaded.state.calibration == fresh_index.state.calibration
    for query in QUERIES:
        before = fresh_index.search(query, k=3)
        after = loaded.search(query, k=3)
        assert [h.entry_id for h in after] == [h.entry_id for h in before]
        assert np.allclose([h.score for h in after], [h.score for h in before], atol=1e-5)


def test_loaded_index_accepts_changes_and_versions_increase(
    fresh_index: HybridIndex, encoder: Encoder, kb_analyzer: TextAnalyzer, tmp_path: Path
) -> None:
    fresh_index.save(tmp_path)
    loaded = HybridIndex.load(tmp_path, encoder=encoder, analyzer=kb_analyzer)
    loaded.upsert(KnowledgeDocument(9, ("集中供热收费标准是多少？",), version=2), seq=7)
    answer = "电动自行车上牌需带购车发票和合格证到车管所。"
    loaded.upsert(KnowledgeDocument(50, ("电动自行车在哪里上牌照？",), answer=answer), seq=8)
    assert loaded.search("电动车上牌去哪", k=1)[0].entry_id == 50
    assert loaded.save(tmp_path) == 2
    again = HybridIndex.load(tmp_path, encoder=encoder, analyzer=kb_analyzer)
    assert again.applied_seq == 8
    assert again.get(9).questions == ("集中供热收费标准是多少？",)
    assert again.get(50).answer == answer
    query = "上牌要带发票吗"
    assert [h.score for h in again.search(query)] == pytest.approx(
        [h.score for h in loaded.search(query)], abs=1e-5
    )
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == ["gen-000001", "gen-000002"]
    assert loaded.save(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == ["gen-000002", "gen-000003"]


@pytest.mark.parametrize(
    ("name", "dim"), [("some-other-encoder", 512), ("use-multilingual-v3-onnx", 384)]
)
def test_load_rejects_a_mismatched_encoder(
    small_index: HybridIndex, tmp_path: Path, name: str, dim: int
) -> None:
    small_index.save(tmp_path)
    with pytest.raises(ModelError, match="rebuild the index"):
        HybridIndex.load(tmp_path, encoder=MismatchedEncoder(name, dim))


def test_load_rejects_a_corrupt_snapshot(
    small_index: HybridIndex, encoder: Encoder, tmp_path: Path
) -> None:
    small_index.save(tmp_path)
    (tmp_path / "gen-000001" / "dense.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(ModelError, match="corrupt"):
        HybridIndex.load(tmp_path, encoder=encoder)


def test_load_rejects_a_missing_or_foreign_manifest(encoder: Encoder, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="manifest"):
        HybridIndex.load(tmp_path, encoder=encoder)
    (tmp_path / "manifest.json").write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(ModelError, match="not a knowledge index manifest"):
        HybridIndex.load(tmp_path, encoder=encoder)
