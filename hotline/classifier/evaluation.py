"""Measuring the classifier: k-fold cross-validation on any labelled texts, and evaluation of a
trained model on a labelled file, with single-message latency."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.classifier.metrics import EvalReport, evaluate
from hotline.classifier.model import TextClassifier, embed
from hotline.classifier.rollup import Projection, ranked_targets
from hotline.classifier.training import Progress, TrainConfig, stratified_folds
from hotline.encoders.base import Encoder


def timed_single_predictions(
    model: TextClassifier, texts: Sequence[str]
) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Probabilities of each text predicted on its own, and each call's latency in ms.

    Each call is what the intake makes: every label ranked, and the emergency head read.
    """
    column = {label: i for i, label in enumerate(model.labels)}
    rows, latencies = [], []
    for text in texts:
        start = time.perf_counter()
        (prediction,) = model.predict([text], top_k=len(column))
        latencies.append((time.perf_counter() - start) * 1000.0)
        row = np.zeros(len(column))
        for suggestion in prediction.suggestions:
            row[column[suggestion.label]] = suggestion.score
        rows.append(row)
    return np.vstack(rows), latencies


def evaluate_model(
    model: TextClassifier,
    texts: Sequence[str],
    gold: Sequence[str],
    project: Projection,
    *,
    progress: Progress | None = None,
) -> EvalReport:
    """Predict every text on its own (timed) and score it against ``gold`` after ``project``."""
    if progress:
        progress(f"predicting {len(texts)} messages one at a time")
    probabilities, latencies = timed_single_predictions(model, texts)
    ranked = ranked_targets(probabilities, model.labels, project, top_k=3)
    return evaluate(gold, ranked, latencies)


def _fit_fold(
    texts: Sequence[str],
    labels: Sequence[str],
    train: list[int],
    vectors: npt.NDArray[np.floating[Any]] | None,
    encoder: Encoder | None,
    config: TrainConfig,
) -> TextClassifier:
    return TextClassifier.train(
        [texts[i] for i in train],
        [labels[i] for i in train],
        encoder=encoder,
        vectors=None if vectors is None else vectors[train],
        config=config,
    )


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int,
    encoder: Encoder | None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    latency_sample: int = 200,
) -> EvalReport:
    """Stratified k-fold: train on k-1 folds, rank the held-out fold, pool every fold's ranks.

    Sentence vectors are computed once for all texts (the encoder is not trained). Latency is
    measured on single-message predictions of the last fold's model.
    """
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, not {folds}")
    report = progress or (lambda _message: None)
    config = config or TrainConfig()
    label_index = {label: i for i, label in enumerate(sorted(set(labels)))}
    assignment = stratified_folds(np.array([label_index[x] for x in labels]), folds, seed=42)
    vectors = None
    if encoder is not None:
        report(f"encoding {len(texts)} texts with {encoder.name}")
        vectors = embed(encoder, texts, config.encoder_max_chars)
    ranked: list[list[str | None]] = [[] for _ in texts]
    for fold in range(folds):
        report(f"fold {fold + 1}/{folds}")
        train = [int(i) for i in np.flatnonzero(assignment != fold)]
        test = [int(i) for i in np.flatnonzero(assignment == fold)]
        model = _fit_fold(texts, labels, train, vectors, encoder, config)
        test_texts = [texts[i] for i in test]
        probabilities = model.probabilities(
            test_texts, vectors=None if vectors is None else vectors[test]
        )
        for i, ranking in zip(test, ranked_targets(probabilities, model.labels, str), strict=True):
            ranked[i] = ranking
    # the last fold's model and test texts stand for all folds in the latency figure
    _, latencies = timed_single_predictions(model, test_texts[:latency_sample])
    return evaluate(labels, ranked, latencies)
