"""Fitting the stacked classifier: lexical SVM + embedding ridge head, blended on held-out folds.

The two heads see different evidence (exact character n-grams vs. sentence meaning).
Their out-of-fold scores train a small calibrated blend, so the final probabilities are
measured on text the heads did not see.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeClassifier
from sklearn.svm import LinearSVC

from hotline.classifier.emergency_head import EmergencyHead
from hotline.classifier.features import FeatureConfig, LexicalFeaturizer
from hotline.classifier.heads import Blend, FloatArray, LinearHead
from hotline.classifier.nbsvm import fit_nbsvm

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

#: upper bound on lexical coefficients (labels x features), to keep artifacts and memory sane
COEFFICIENT_BUDGET = 12_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults were chosen by 5-fold CV on real hotline messages."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    #: scale the lexical SVM's features by naive-Bayes log-count ratios (NB-SVM, C=0.3): on
    #: msgabench request type 0.824 vs 0.820, but domain macro-F1 0.550 -> 0.5499 and twice
    #: the training time, so off by default (see bench/README.md)
    nb_scaling: bool = False
    #: SVM penalty: 0.5 for the plain head; 0.3 was best for the NB-scaled one
    svm_c: float = 0.5
    #: ridge penalty of the embedding head
    embedding_alpha: float = 3.0
    #: the blend weighs each sample by balanced_weight ** this: 0 fits the data's label
    #: frequencies, 1 treats all labels as equally likely; a little rebalancing buys
    #: macro-F1 on rare labels for little accuracy (msgabench domain, 5-fold CV)
    blend_balance: float = 0.25
    #: the encoder sees the first N characters: it costs time in proportion to length (about
    #: 10 ms of CPU for 256 characters under load, 7 ms for 160). On msgabench 256 characters
    #: scored like the full text, and 160 like 256 (5-fold CV on 问题领域: macro-F1 0.553 / 0.553,
    #: accuracy 0.743 / 0.742), so the long tail of the latency is cut at no measured cost
    encoder_max_chars: int = 160
    inner_folds: int = 3
    threshold: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class FittedParts:
    """What training produces, before it is wrapped in a classifier."""

    labels: tuple[str, ...]
    featurizer: LexicalFeaturizer
    lexical: LinearHead
    embedding: LinearHead | None
    blend: Blend
    #: how many leading characters of a text the encoder sees
    encoder_max_chars: int
    #: live-emergency reading (taxonomy models only; see :mod:`hotline.classifier.emergency_head`)
    emergency: EmergencyHead | None = None


def stratified_folds(targets: npt.NDArray[np.int64], k: int, seed: int) -> npt.NDArray[np.int64]:
    """Fold number per sample: each label's samples dealt round-robin after a shuffle.

    Unlike sklearn's StratifiedKFold this accepts labels rarer than ``k``; such a label is
    simply absent from some training folds, which the heads handle.
    """
    rng = np.random.default_rng(seed)
    folds = np.empty(len(targets), dtype=np.int64)
    offset = 0
    for label in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == label))
        folds[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)
    return folds


def balanced_weights(targets: npt.NDArray[np.int64], n_labels: int) -> FloatArray:
    """Per-sample weight n / (n_labels * count(label)), sklearn's 'balanced' rule."""
    counts = np.bincount(targets, minlength=n_labels).astype(np.float64)
    return np.asarray(len(targets) / (n_labels * counts[targets]))


def _fit_lexical(
    x: sp.csr_matrix, y: npt.NDArray[np.int64], w: FloatArray, n: int, config: TrainConfig
) -> LinearHead:
    if config.nb_scaling:
        return fit_nbsvm(x, y, w, n, c=config.svm_c)
    # Balanced class weights: macro-F1 on rare labels matters as much as accuracy on big ones.
    model = LinearSVC(C=config.svm_c, class_weight="balanced", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y, sample_weight=w)
    return LinearHead.from_estimator(model, n)


def _fit_embedding(
    v: npt.NDArray[np.floating[Any]], y: npt.NDArray[np.int64], w: FloatArray, n: int, c: float
) -> LinearHead:
    # Ridge solves every label at once in closed form: under a second for 266 labels where a
    # one-vs-rest SVM took a minute, and the blend scored the same (msgabench domain CV).
    model = RidgeClassifier(alpha=c, class_weight="balanced")
    model.fit(v, y, sample_weight=w)
    return LinearHead.from_estimator(model, n)


def _heads(
    x: sp.csr_matrix,
    v: npt.NDArray[np.floating[Any]] | None,
    y: npt.NDArray[np.int64],
    w: FloatArray,
    n: int,
    config: TrainConfig,
) -> tuple[LinearHead, LinearHead | None]:
    lexical = _fit_lexical(x, y, w, n, config)
    embedding = None if v is None else _fit_embedding(v, y, w, n, config.embedding_alpha)
    return lexical, embedding


def _out_of_fold_scores(
    x: sp.csr_matrix,
    v: npt.NDArray[np.floating[Any]] | None,
    y: npt.NDArray[np.int64],
    w: FloatArray,
    n: int,
    config: TrainConfig,
    progress: Progress,
) -> list[FloatArray]:
    folds = stratified_folds(y, config.inner_folds, config.seed)
    scores = [np.zeros((len(y), n)) for _ in range(1 if v is None else 2)]
    for fold in range(config.inner_folds):
        progress(f"held-out fold {fold + 1}/{config.inner_folds}")
        train, test = folds != fold, folds == fold
        lexical, embedding = _heads(
            x[train], None if v is None else v[train], y[train], w[train], n, config
        )
        scores[0][test] = lexical.scores(x[test])
        if embedding is not None and v is not None:
            scores[1][test] = embedding.scores(v[test])
    return scores


def fit_parts(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    vectors: npt.NDArray[np.floating[Any]] | None,
    sample_weight: Sequence[float] | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> FittedParts:
    """Train every part; ``vectors`` are the texts' sentence embeddings (None: lexical only)."""
    config = config or TrainConfig()
    report = progress or (lambda _message: None)
    label_set = tuple(sorted(set(labels)))
    if len(label_set) < 2:
        raise ValueError(f"training needs at least two distinct labels, got {len(label_set)}")
    index = {label: i for i, label in enumerate(label_set)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    report(f"features for {len(texts)} texts, {len(label_set)} labels")
    features = _budgeted(config.features, len(label_set))
    featurizer = LexicalFeaturizer.fit(texts, features)
    x = featurizer.transform(texts)
    oof = _out_of_fold_scores(x, vectors, y, w, len(label_set), config, report)
    report("final heads on all data")
    lexical, embedding = _heads(x, vectors, y, w, len(label_set), config)
    report("calibrating the blend")
    rebalance = balanced_weights(y, len(label_set)) ** config.blend_balance
    blend = Blend.fit(oof, y, w * rebalance)
    logger.info(
        "classifier.trained labels=%d texts=%d weights=%s", len(label_set), len(y), blend.weights
    )
    return FittedParts(label_set, featurizer, lexical, embedding, blend, config.encoder_max_chars)


def _budgeted(features: FeatureConfig, n_labels: int) -> FeatureConfig:
    per_view = COEFFICIENT_BUDGET // (2 * n_labels)
    return FeatureConfig(
        char_ngrams=features.char_ngrams,
        word_ngrams=features.word_ngrams,
        min_df=features.min_df,
        max_char_features=min(features.max_char_features, per_view),
        max_word_features=min(features.max_word_features, per_view),
        word_weight=features.word_weight,
    )
