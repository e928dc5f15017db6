"""The NB-scaled SVM head and the fast character n-gram counter it is fed by."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.svm import LinearSVC

from hotline.classifier.features import FeatureConfig, LexicalFeaturizer, normalise_text
from hotline.classifier.nbsvm import fit_nbsvm, log_count_ratios
from hotline.classifier.training import TrainConfig, fit_parts
from tests.classifier.conftest import HELD_OUT, training_rows


def _features() -> tuple[LexicalFeaturizer, sp.csr_matrix, np.ndarray, list[str]]:
    texts, labels = zip(*training_rows(), strict=True)
    label_set = sorted(set(labels))
    featurizer = LexicalFeaturizer.fit(list(texts), FeatureConfig())
    y = np.array([label_set.index(label) for label in labels], dtype=np.int64)
    return featurizer, featurizer.transform(list(texts)), y, label_set


def test_log_count_ratios_favour_features_of_the_label() -> None:
    in_label = np.array([4.0, 0.0, 2.0])
    total = np.array([4.0, 6.0, 4.0])
    ratios = log_count_ratios(in_label, total, alpha=1.0)
    assert ratios[0] > ratios[2] > ratios[1]
    assert ratios.dtype == np.float32


def test_folded_coefficients_score_like_the_svm_on_scaled_features() -> None:
    _, x, y, _ = _features()
    head = fit_nbsvm(x, y, np.ones(len(y)), 5, c=0.3)
    # label 0 refit by hand on the scaled matrix
    positive = y == 0
    presence = (x > 0).astype(np.float64)
    ratios = log_count_ratios(
        np.asarray(presence[positive].sum(axis=0)).ravel(),
        np.asarray(presence.sum(axis=0)).ravel(),
        alpha=1.0,
    )
    balance = len(y) / (4 * positive.sum())
    svm = LinearSVC(C=0.3, random_state=0).fit(
        x @ sp.diags(ratios), positive.astype(int), sample_weight=np.where(positive, balance, 1.0)
    )
    expected = svm.decision_function(x @ sp.diags(ratios))
    np.testing.assert_allclose(head.scores(x)[:, 0], expected, rtol=1e-4, atol=1e-4)


def test_labels_absent_from_training_never_win() -> None:
    _, x, y, _ = _features()
    head = fit_nbsvm(x, y, np.ones(len(y)), 6, c=0.3)  # label 4 and 5 never seen
    scores = head.scores(x)
    assert not np.any(head.coef[4:]), "unseen labels must have zero coefficients"
    assert np.all(head.intercept[4:] < head.intercept[:4].min())
    assert np.mean(scores.argmax(axis=1) == y) > 0.95


def test_nb_scaled_parts_classify_held_out_phrasings() -> None:
    texts, labels = zip(*training_rows(), strict=True)
    config = TrainConfig(nb_scaling=True, svm_c=0.3)
    parts = fit_parts(list(texts), list(labels), vectors=None, config=config)
    held_texts, held_labels = zip(*HELD_OUT, strict=True)
    probabilities = parts.blend.probabilities(
        [parts.lexical.scores(parts.featurizer.transform(list(held_texts)))]
    )
    predicted = [parts.labels[i] for i in probabilities.argmax(axis=1)]
    assert sum(p == g for p, g in zip(predicted, held_labels, strict=True)) >= 7


def test_char_counts_match_count_vectorizer() -> None:
    featurizer, _, _, _ = _features()
    view = featurizer._char
    docs = [normalise_text(t) for t, _ in HELD_OUT] + ["", " ", "a b  c"]
    expected = view._counter.transform(docs).astype(np.float32)
    actual = view._char_counts(docs, 1, 3)
    assert (expected != actual).nnz == 0
    np.testing.assert_array_equal(expected.indices, actual.indices)
