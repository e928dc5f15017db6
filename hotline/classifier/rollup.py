"""Summing label probabilities into coarser labels: subcategories into categories, codes into
an external dataset's labels."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from hotline.classifier.heads import FloatArray
from hotline.classifier.taxonomy import Taxonomy

#: maps a model label to its coarser label; None means "no counterpart" (always wrong)
Projection = Callable[[str], str | None]


def roll_up(
    probabilities: FloatArray, labels: Sequence[str], project: Projection
) -> tuple[FloatArray, tuple[str | None, ...]]:
    """Sum the columns of ``probabilities`` that project to the same target.

    Returns the (n, n_targets) matrix and the targets, ``None`` collecting every label
    without a counterpart.
    """
    targets = [project(label) for label in labels]
    unique: list[str | None] = [*sorted({t for t in targets if t is not None})]
    if None in targets:
        unique.append(None)
    column = {target: i for i, target in enumerate(unique)}
    indicator = np.zeros((len(labels), len(unique)))
    for row, target in enumerate(targets):
        indicator[row, column[target]] = 1.0
    return probabilities @ indicator, tuple(unique)


def ranked_targets(
    probabilities: FloatArray, labels: Sequence[str], project: Projection, *, top_k: int = 3
) -> list[list[str | None]]:
    """Per row, the top-k targets by summed probability (``None`` for unmapped mass)."""
    summed, targets = roll_up(probabilities, labels, project)
    order = np.argsort(-summed, axis=1, kind="stable")[:, :top_k]
    return [[targets[i] for i in row] for row in order]


def category_of(taxonomy: Taxonomy) -> Projection:
    """Subcategory code -> its category code."""
    return lambda code: taxonomy.subcategory(code).category_code


def category_probabilities(
    probabilities: FloatArray, labels: Sequence[str], taxonomy: Taxonomy
) -> list[dict[str, float]]:
    """Per row, ``{category code: probability}`` summed over its subcategories."""
    summed, targets = roll_up(probabilities, labels, category_of(taxonomy))
    return [
        {str(t): float(p) for t, p in zip(targets, row, strict=True) if t is not None}
        for row in summed
    ]


def mapped(mapping: Mapping[str, str], taxonomy: Taxonomy | None) -> Projection:
    """A projection through a code -> external label mapping.

    A subcategory's own entry wins over its category's; labels with neither map to None.
    """

    def project(code: str) -> str | None:
        if code in mapping:
            return mapping[code]
        if taxonomy is None:
            return None
        return mapping.get(taxonomy.subcategory(code).category_code)

    return project
