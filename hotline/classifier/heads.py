"""Linear scoring heads and the calibrated blend that turns their scores into probabilities.

Every trained part is a plain (coef, intercept) pair, so artifacts hold arrays, not objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LinearHead:
    """Scores = X @ coef.T + intercept, one column per label of the full label set."""

    coef: npt.NDArray[np.floating[Any]]
    intercept: FloatArray
    _coef_t: npt.NDArray[np.floating[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Sparse rows times a C-ordered (features, labels) matrix: without this copy, scipy
        # would copy the transposed view on every call (megabytes per single message).
        # ``coef`` becomes a view of that copy, so the weights are held once.
        coef_t = np.ascontiguousarray(self.coef.T)
        object.__setattr__(self, "_coef_t", coef_t)
        object.__setattr__(self, "coef", coef_t.T)

    def scores(self, features: npt.NDArray[np.floating[Any]] | sp.csr_matrix) -> FloatArray:
        """(n, n_labels) decision scores."""
        return np.asarray(features @ self._coef_t, dtype=np.float64) + self.intercept

    @classmethod
    def from_estimator(cls, estimator: Any, n_labels: int) -> LinearHead:
        """Expand a fitted sklearn linear model to all ``n_labels`` columns.

        Its ``classes_`` must be integer label indices. Labels the estimator never saw get a
        zero row and an intercept below every seen one, so they never win. A binary model
        has one row; it becomes two opposite rows.
        """
        coef = np.asarray(estimator.coef_, dtype=np.float64)
        intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
        if coef.shape[0] == 1:
            coef = np.vstack([-coef, coef])
            intercept = np.array([-intercept[0], intercept[0]])
        # float32 halves memory; scores need nowhere near float64 precision
        full_coef = np.zeros((n_labels, coef.shape[1]), dtype=np.float32)
        full_intercept = np.full(n_labels, float(intercept.min()) - 1.0)
        classes = np.asarray(estimator.classes_, dtype=np.int64)
        full_coef[classes] = coef
        full_intercept[classes] = intercept
        return cls(full_coef, full_intercept)


@dataclass(frozen=True)
class Blend:
    """Calibrated combination: softmax(sum_i weight_i * scores_i + bias).

    Fitted on out-of-fold scores, so the weights both choose how much to trust each kind of
    evidence and set the temperature that makes the probabilities honest.
    """

    weights: FloatArray
    bias: FloatArray

    def probabilities(self, scores: Sequence[FloatArray]) -> FloatArray:
        """(n, n_labels) probabilities from one score matrix per head."""
        return np.asarray(softmax(self.logits(scores), axis=1))

    def logits(self, scores: Sequence[FloatArray]) -> FloatArray:
        """The blended logits before the softmax."""
        out = self.bias + sum(w * s for w, s in zip(self.weights, scores, strict=True))
        return np.asarray(out, dtype=np.float64)

    @classmethod
    def fit(
        cls,
        scores: Sequence[FloatArray],
        targets: npt.NDArray[np.int64],
        sample_weight: FloatArray,
        *,
        bias_penalty: float = 1.0,
    ) -> Blend:
        """Minimise weighted log-loss; the bias is L2-penalised so rare labels keep a chance."""
        n_heads, n_labels = len(scores), scores[0].shape[1]
        total = float(sample_weight.sum())
        rows = np.arange(len(targets))

        def loss(params: FloatArray) -> tuple[float, FloatArray]:
            weights, bias = params[:n_heads], params[n_heads:]
            logits = bias + sum(w * s for w, s in zip(weights, scores, strict=True))
            log_p = log_softmax(logits, axis=1)
            nll = -float((sample_weight * log_p[rows, targets]).sum()) / total
            residual = np.exp(log_p)
            residual[rows, targets] -= 1.0
            residual *= (sample_weight / total)[:, None]
            grad_w = np.array([float((residual * s).sum()) for s in scores])
            grad_b = residual.sum(axis=0) + bias_penalty * bias / len(targets)
            nll += 0.5 * bias_penalty * float(bias @ bias) / len(targets)
            return nll, np.concatenate([grad_w, grad_b])

        start = np.concatenate([np.ones(n_heads), np.zeros(n_labels)])
        result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        return cls(np.asarray(result.x[:n_heads]), np.asarray(result.x[n_heads:]))
