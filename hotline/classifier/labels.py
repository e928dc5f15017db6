"""Matching a file's gold labels to a model's labels: directly, through the taxonomy (codes or
names, subcategory or category level), or through an explicit code -> label mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click

from hotline.classifier.rollup import Projection, category_of, mapped
from hotline.classifier.taxonomy import Category, Taxonomy
from hotline.errors import NotFound


def projection_for(
    gold: Sequence[str],
    model_labels: Sequence[str],
    taxonomy: Taxonomy | None,
    mapping: Mapping[str, str] | None,
) -> tuple[list[str], Projection]:
    """The gold labels to score against and how to project model labels onto them."""
    if mapping is not None:
        _check_mapping_codes(mapping, model_labels, taxonomy)
        return list(gold), mapped(mapping, taxonomy)
    known = set(model_labels)
    if all(label in known for label in gold):
        return list(gold), lambda label: label
    if taxonomy is None:
        missing = sorted(set(gold) - known)
        raise click.BadParameter(
            f"labels the model does not know: {', '.join(missing[:5])}; give --map",
            param_hint="--label-column",
        )
    return _through_taxonomy(gold, taxonomy)


def _through_taxonomy(gold: Sequence[str], taxonomy: Taxonomy) -> tuple[list[str], Projection]:
    nodes = []
    unknown = set()
    for label in gold:
        try:
            nodes.append(taxonomy.find(label))
        except NotFound:
            unknown.add(label)
    if unknown:
        raise click.BadParameter(
            f"labels that are neither codes nor names in the taxonomy: "
            f"{', '.join(sorted(unknown)[:5])}; give --map for external labels",
            param_hint="--label-column",
        )
    if any(isinstance(node, Category) for node in nodes):
        # any category-level gold label puts the whole evaluation at category level
        codes = [node.code if isinstance(node, Category) else node.category_code for node in nodes]
        return codes, category_of(taxonomy)
    return [node.code for node in nodes], lambda label: label


def _check_mapping_codes(
    mapping: Mapping[str, str], model_labels: Sequence[str], taxonomy: Taxonomy | None
) -> None:
    valid = set(model_labels)
    if taxonomy is not None:
        valid |= {category.code for category in taxonomy.categories}
    unknown = sorted(code for code in mapping if code not in valid)
    if unknown:
        raise click.BadParameter(
            f"codes the model and taxonomy do not have: {', '.join(unknown[:5])}",
            param_hint="--map",
        )
