"""The text classifier agents see: top-k calibrated suggestions for a citizen's request."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from hotline.classifier.emergency_head import (
    EmergencyCall,
    call,
    clause_windows,
    strongest_window,
)
from hotline.classifier.heads import FloatArray
from hotline.classifier.training import FittedParts, Progress, TrainConfig, fit_parts
from hotline.encoders.base import Encoder
from hotline.errors import ModelError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Suggestion:
    """One candidate label with its calibrated probability."""

    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    """The top-k suggestions for one text, best first."""

    suggestions: tuple[Suggestion, ...]
    confident: bool
    #: the emergency head's reading; None for a model without one (see ``emergency_head``)
    emergency: EmergencyCall | None = None

    @property
    def top(self) -> Suggestion:
        """The best suggestion."""
        return self.suggestions[0]


@dataclass(frozen=True)
class ModelInfo:
    """Provenance recorded in the artifact manifest."""

    encoder_name: str | None
    encoder_dim: int | None
    data_hash: str
    created_at: str
    taxonomy_version: str | None = None
    metrics: dict[str, Any] | None = None


def embed(encoder: Encoder, texts: Sequence[str], max_chars: int) -> npt.NDArray[np.floating[Any]]:
    """Sentence vectors of each text's first ``max_chars`` characters."""
    return encoder.encode([text[:max_chars] for text in texts])


def data_hash(texts: Sequence[str], labels: Sequence[str], weights: Sequence[float] | None) -> str:
    """A stable digest of the training data, to tell artifacts apart."""
    digest = hashlib.sha256()
    for i, (text, label) in enumerate(zip(texts, labels, strict=True)):
        weight = 1.0 if weights is None else float(weights[i])
        digest.update(f"{text}\x1f{label}\x1f{weight:g}\x1e".encode())
    return digest.hexdigest()[:16]


class TextClassifier:
    """Lexical SVM + sentence-embedding head, blended into calibrated probabilities."""

    def __init__(
        self,
        parts: FittedParts,
        *,
        encoder: Encoder | None,
        info: ModelInfo,
        threshold: float = 0.5,
    ) -> None:
        if (parts.embedding is None) != (encoder is None):
            raise ModelError("the embedding head and the encoder must be given together")
        self.parts = parts
        self.encoder = encoder
        self.info = info
        self.threshold = threshold

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label the model can predict, sorted."""
        return self.parts.labels

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        encoder: Encoder | None,
        progress: Progress | None = None,
        sample_weight: Sequence[float] | None = None,
        vectors: npt.NDArray[np.floating[Any]] | None = None,
        config: TrainConfig | None = None,
        taxonomy_version: str | None = None,
    ) -> TextClassifier:
        """Fit on ``texts``/``labels``; ``vectors`` may carry the encoder's output precomputed."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        config = config or TrainConfig()
        if encoder is not None and vectors is None:
            if progress:
                progress(f"encoding {len(texts)} texts with {encoder.name}")
            vectors = embed(encoder, texts, config.encoder_max_chars)
        parts = fit_parts(
            texts,
            labels,
            vectors=None if encoder is None else vectors,
            sample_weight=sample_weight,
            config=config,
            progress=progress,
        )
        info = ModelInfo(
            encoder_name=None if encoder is None else encoder.name,
            encoder_dim=None if encoder is None else encoder.dim,
            data_hash=data_hash(texts, labels, sample_weight),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            taxonomy_version=taxonomy_version,
        )
        return cls(parts, encoder=encoder, info=info, threshold=config.threshold)

    def probabilities(
        self, texts: Sequence[str], *, vectors: npt.NDArray[np.floating[Any]] | None = None
    ) -> FloatArray:
        """(n, n_labels) calibrated probabilities, columns in :attr:`labels` order.

        ``vectors`` may carry the texts' sentence embeddings when the caller already has them.
        """
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._blend(*self.evidence(texts, vectors=vectors))

    def evidence(
        self, texts: Sequence[str], *, vectors: npt.NDArray[np.floating[Any]] | None = None
    ) -> tuple[sp.csr_matrix, npt.NDArray[np.floating[Any]] | None]:
        """The texts' lexical features and (with an encoder) sentence vectors."""
        lexical = self.parts.featurizer.transform(texts)
        if self.encoder is None or self.parts.embedding is None:
            return lexical, None
        if vectors is None:
            vectors = embed(self.encoder, texts, self.parts.encoder_max_chars)
        return lexical, vectors

    def _blend(
        self, lexical: sp.csr_matrix, vectors: npt.NDArray[np.floating[Any]] | None
    ) -> FloatArray:
        scores = [self.parts.lexical.scores(lexical)]
        if vectors is not None and self.parts.embedding is not None:
            scores.append(self.parts.embedding.scores(vectors))
        return self.parts.blend.probabilities(scores)

    def predict(self, texts: Sequence[str], *, top_k: int = 5) -> list[Prediction]:
        """Top-k suggestions per text; ``confident`` when the best score reaches the threshold."""
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        if not texts:
            return []
        lexical, vectors = self.evidence(texts)
        probabilities = self._blend(lexical, vectors)
        emergency = self.parts.emergency
        lines = None if emergency is None else emergency.probabilities(lexical, vectors)
        k = min(top_k, len(self.labels))
        order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        predictions = []
        for n, (row, indices) in enumerate(zip(probabilities, order, strict=True)):
            suggestions = tuple(Suggestion(self.labels[i], float(row[i])) for i in indices)
            predictions.append(
                Prediction(
                    suggestions,
                    suggestions[0].score >= self.threshold,
                    None if lines is None else call(lines[n]),
                )
            )
        return predictions

    def buried_emergency(self, text: str) -> EmergencyCall | None:
        """The emergency head's reading of a long text in windows of a few clauses
        (:func:`~hotline.classifier.emergency_head.clause_windows`): a live emergency a letter
        mentions after a paragraph about something else. None for a short text, a model without
        a head, or when no window reaches the windows' referral probability."""
        emergency = self.parts.emergency
        windows = clause_windows(text)
        if emergency is None or not windows:
            return None
        return strongest_window(emergency.probabilities(*self.evidence(windows)))

    def save(self, path: Path) -> None:
        """Write the versioned artifact directory (see :mod:`hotline.classifier.artifact`)."""
        from hotline.classifier.artifact import write_artifact

        write_artifact(self, path)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        encoder: Encoder | None,
        expected_taxonomy_version: str | None = None,
    ) -> TextClassifier:
        """Read an artifact; raises ``ModelError`` when it is missing, corrupt or incompatible."""
        from hotline.classifier.artifact import read_artifact

        return read_artifact(
            path, encoder=encoder, expected_taxonomy_version=expected_taxonomy_version
        )
