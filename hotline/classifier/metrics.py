"""Evaluation figures for a classifier: accuracy, macro-F1, top-3, per-label table, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelScore:
    """Precision, recall and F1 of one gold label."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class EvalReport:
    """Everything ``classifier eval`` and ``classifier cv`` print."""

    n: int
    accuracy: float
    macro_f1: float
    top3: float
    per_label: tuple[LabelScore, ...]
    confused: tuple[tuple[str, str, int], ...]
    p50_ms: float | None
    p99_ms: float | None

    def summary(self) -> dict[str, Any]:
        """The JSON line: accuracy, macro_f1, top3, p50_ms, p99_ms, n."""
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "top3": round(self.top3, 4),
            "p50_ms": None if self.p50_ms is None else round(self.p50_ms, 3),
            "p99_ms": None if self.p99_ms is None else round(self.p99_ms, 3),
            "n": self.n,
        }


def evaluate(
    gold: Sequence[str],
    ranked: Sequence[Sequence[str | None]],
    latencies_ms: Sequence[float] = (),
    *,
    top_confusions: int = 10,
) -> EvalReport:
    """Score ranked predictions (best first) against ``gold``.

    A ``None`` in a ranking is a prediction with no counterpart in the gold label set (e.g. a
    code the mapping file leaves out): it is always wrong. Macro-F1 averages over the gold
    labels, so such predictions cost recall without inventing a label.
    """
    if len(gold) != len(ranked):
        raise ValueError(f"{len(gold)} gold labels but {len(ranked)} predictions")
    if not gold:
        raise ValueError("nothing to evaluate")
    top1 = [ranking[0] if ranking else None for ranking in ranked]
    per_label = _per_label(gold, top1)
    hits = sum(g == p for g, p in zip(gold, top1, strict=True))
    top3 = sum(g in ranking[:3] for g, ranking in zip(gold, ranked, strict=True))
    confused = Counter(
        (g, p if p is not None else "(unmapped)") for g, p in zip(gold, top1, strict=True) if g != p
    )
    p50, p99 = _percentiles(latencies_ms)
    return EvalReport(
        n=len(gold),
        accuracy=hits / len(gold),
        macro_f1=float(np.mean([score.f1 for score in per_label])),
        top3=top3 / len(gold),
        per_label=per_label,
        confused=tuple((g, p, c) for (g, p), c in confused.most_common(top_confusions)),
        p50_ms=p50,
        p99_ms=p99,
    )


def _per_label(gold: Sequence[str], predicted: Sequence[str | None]) -> tuple[LabelScore, ...]:
    support = Counter(gold)
    predicted_count = Counter(p for p in predicted if p is not None)
    correct = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    scores = []
    for label in sorted(support):
        precision = correct[label] / predicted_count[label] if predicted_count[label] else 0.0
        recall = correct[label] / support[label]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(LabelScore(label, precision, recall, f1, support[label]))
    return tuple(scores)


def _percentiles(latencies_ms: Sequence[float]) -> tuple[float | None, float | None]:
    if not latencies_ms:
        return None, None
    p50, p99 = np.percentile(np.asarray(latencies_ms, dtype=np.float64), [50, 99])
    return float(p50), float(p99)


def format_report(report: EvalReport) -> str:
    """A human-readable report: headline figures, per-label table, most confused pairs."""
    lines = [
        f"n={report.n}  accuracy={report.accuracy:.4f}  macro-F1={report.macro_f1:.4f}  "
        f"top-3={report.top3:.4f}",
    ]
    if report.p50_ms is not None and report.p99_ms is not None:
        lines.append(
            f"single-message latency p50={report.p50_ms:.2f} ms  p99={report.p99_ms:.2f} ms"
        )
    width = max(len("label"), *(len(score.label) for score in report.per_label))
    lines.append("")
    lines.append(f"{'label':<{width}}  precision  recall     f1  support")
    for score in report.per_label:
        lines.append(
            f"{score.label:<{width}}  {score.precision:9.3f}  {score.recall:6.3f}  "
            f"{score.f1:5.3f}  {score.support:7d}"
        )
    if report.confused:
        lines.append("")
        lines.append("most confused (gold -> predicted: count)")
        lines.extend(f"  {g} -> {p}: {c}" for g, p, c in report.confused)
    return "\n".join(lines)
