"""Turning fused retrieval evidence into one confidence in [0, 1].

The confidence is ``sigmoid(a·fused + c·margin + b)`` with ``a, c ≥ 0``, where ``fused`` is the
entry's fused score and ``margin`` its lead over the best *other* entry (negative for every hit
but the first). Both inputs fall with rank, so confidences fall with rank too, and a higher
fused score never gives a lower confidence.

The coefficients are fitted by logistic regression on self-generated queries
(:mod:`hotline.knowledge.retrieval.selftrain`): distorted copies of the knowledge base's own
questions, searched once with their entry present (label: is the top hit right?) and once with
it hidden (the top hit is then always wrong: an unanswerable question).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Fitted on the self-generated queries of the 2,070-question gov_qa knowledge base
# (bench/kb_gov_qa.py); used when a knowledge base is too small to fit its own.
DEFAULT_COEFFICIENTS = (5.0, 10.6, -6.6)

# Proposed intake thresholds, from the gov_qa colloquial tuning queries (bench/README.md):
# at 0.70, 37 % of answerable queries are answered directly, all correctly, and 1 in 139
# queries whose entry was hidden (hard unanswerable ones) would get a wrong direct answer.
# From 0.30, 72 % of answerable queries get at least a "did you mean" whose top three hold the
# right entry 97 % of the time (22 % of the hidden-entry queries get one too, and decline it).
ANSWER_THRESHOLD = 0.70
SUGGEST_THRESHOLD = 0.30


@dataclass(frozen=True)
class Calibration:
    """Monotone logistic map from (fused score, margin) to a confidence."""

    fused_weight: float = DEFAULT_COEFFICIENTS[0]
    margin_weight: float = DEFAULT_COEFFICIENTS[1]
    bias: float = DEFAULT_COEFFICIENTS[2]

    def __post_init__(self) -> None:
        if self.fused_weight < 0 or self.margin_weight < 0:
            raise ValueError("calibration weights must be non-negative to stay monotone")

    def confidence(self, fused: float, margin: float) -> float:
        """The calibrated probability that this hit is the right answer."""
        z = self.fused_weight * fused + self.margin_weight * margin + self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form for the index manifest."""
        return asdict(self)

    @classmethod
    def fit(cls, features: Sequence[tuple[float, float]], labels: Sequence[bool]) -> Calibration:
        """Logistic regression with weights clipped at zero (refitted without a clipped one)."""
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels, dtype=bool)
        if len(set(y.tolist())) < 2:
            raise ValueError("calibration needs both right and wrong top hits")
        columns = [0, 1]
        while True:
            model = LogisticRegression(C=10.0).fit(x[:, columns], y)
            weights = dict(zip(columns, model.coef_[0].tolist(), strict=True))
            negative = [col for col, w in weights.items() if w < 0]
            if not negative:
                break
            columns = [col for col in columns if col not in negative]
            if not columns:
                raise ValueError("calibration features do not predict correctness")
        return cls(
            fused_weight=weights.get(0, 0.0),
            margin_weight=weights.get(1, 0.0),
            bias=float(model.intercept_[0]),
        )
