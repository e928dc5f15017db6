"""Offline evaluation: recall@1, recall@3, MRR and search latency over labelled queries."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from hotline.knowledge.retrieval.documents import Hit


class Searchable(Protocol):
    """Anything with the index's ``search`` signature."""

    def search(self, query: str, *, k: int = 5) -> list[Hit]:
        """Best entries first."""
        ...


@dataclass(frozen=True)
class EvalReport:
    """Ranking quality and latency of one run."""

    recall_at_1: float
    recall_at_3: float
    mrr: float
    p50_ms: float
    p99_ms: float
    n: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-ready figures (keys as the ``kb eval --json`` output)."""
        return asdict(self)


def evaluate(index: Searchable, queries: Sequence[tuple[str, int]], *, k: int = 10) -> EvalReport:
    """Search every ``(query, expected entry id)``; MRR counts ranks up to ``k`` (else 0)."""
    if not queries:
        raise ValueError("evaluate() needs at least one query")
    ranks: list[int | None] = []
    latencies: list[float] = []
    for query, expected in queries:
        start = time.perf_counter()
        hits = index.search(query, k=k)
        latencies.append((time.perf_counter() - start) * 1000.0)
        ids = [hit.entry_id for hit in hits]
        ranks.append(ids.index(expected) + 1 if expected in ids else None)
    n = len(queries)
    return EvalReport(
        recall_at_1=sum(1 for r in ranks if r == 1) / n,
        recall_at_3=sum(1 for r in ranks if r is not None and r <= 3) / n,
        mrr=sum(1.0 / r for r in ranks if r is not None) / n,
        p50_ms=float(np.percentile(latencies, 50)),
        p99_ms=float(np.percentile(latencies, 99)),
        n=n,
    )
