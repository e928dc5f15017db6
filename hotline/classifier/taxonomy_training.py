"""Training the production classifier on the city taxonomy: utterances, the taxonomy's own
descriptions, and agents' corrections."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from hotline.classifier.emergency_head import (
    EXAMPLE_WEIGHT,
    EmergencyExample,
    EmergencyHead,
    fit_focused,
    line_of_subcategory,
    load_emergency_examples,
)
from hotline.classifier.model import TextClassifier
from hotline.classifier.taxonomy import Taxonomy
from hotline.classifier.training import Progress, TrainConfig
from hotline.classifier.utterances import Utterance
from hotline.encoders.base import Encoder
from hotline.nlu.normalize import Normalizer

logger = logging.getLogger(__name__)

#: an agent's correction outweighs a hand-written utterance: it is a real citizen's wording
FEEDBACK_WEIGHT = 3.0
#: names, scopes and keywords are terse; they help rare subcategories but are not real requests
DESCRIPTION_WEIGHT = 0.5


@dataclass(frozen=True)
class Example:
    """One weighted training text."""

    text: str
    subcategory: str
    weight: float


def description_examples(taxonomy: Taxonomy) -> list[Example]:
    """Each subcategory's name, scope and keywords as short labelled texts."""
    examples: list[Example] = []
    for sub in taxonomy.subcategories:
        texts = [sub.name, sub.scope, "，".join(sub.keywords), *sub.keywords]
        examples.extend(Example(text, sub.code, DESCRIPTION_WEIGHT) for text in texts)
    return examples


def feedback_examples(
    feedback: Sequence[tuple[str, str]], taxonomy: Taxonomy, progress: Progress
) -> list[Example]:
    """Corrections (text, subcategory code); codes the taxonomy no longer has are left out."""
    known = {sub.code for sub in taxonomy.subcategories}
    kept = [Example(text, code, FEEDBACK_WEIGHT) for text, code in feedback if text.strip()]
    stale = [example for example in kept if example.subcategory not in known]
    if stale:
        # A retired subcategory must not block retraining; say how many were dropped.
        codes = sorted({example.subcategory for example in stale})
        logger.warning("classifier.feedback_stale count=%d codes=%s", len(stale), codes)
        progress(f"left out {len(stale)} corrections with unknown codes {', '.join(codes)}")
    return [example for example in kept if example.subcategory in known]


def train_taxonomy_model(
    *,
    taxonomy: Taxonomy,
    utterances: Sequence[Utterance],
    feedback: Sequence[tuple[str, str]] = (),
    emergencies: Sequence[EmergencyExample] | None = None,
    encoder: Encoder | None,
    progress: Progress | None = None,
    config: TrainConfig | None = None,
) -> TextClassifier:
    """Train on every subcategory of ``taxonomy``; the artifact records the taxonomy version.

    ``emergencies`` teach the emergency head beside the utterances (default: the packaged
    examples).
    """
    report = progress or (lambda _message: None)
    examples = [Example(u.text, u.subcategory, 1.0) for u in utterances]
    examples += description_examples(taxonomy)
    corrections = feedback_examples(feedback, taxonomy, report)
    examples += corrections
    report(
        f"{len(examples)} examples: {len(utterances)} utterances, "
        f"{len(taxonomy.subcategories)} subcategory descriptions, {len(feedback)} corrections"
    )
    model = TextClassifier.train(
        [e.text for e in examples],
        [e.subcategory for e in examples],
        sample_weight=[e.weight for e in examples],
        encoder=encoder,
        progress=report,
        config=config,
        taxonomy_version=taxonomy.version,
    )
    if emergencies is None:
        emergencies = load_emergency_examples()
    rows = emergency_rows(
        [Example(u.text, u.subcategory, 1.0) for u in utterances] + corrections, emergencies
    )
    report(f"emergency head: {len(rows)} texts, {len(emergencies)} of them labelled examples")
    head = fit_emergency_head(model, rows)
    return TextClassifier(
        replace(model.parts, emergency=head),
        encoder=model.encoder,
        info=model.info,
        threshold=model.threshold,
    )


def emergency_rows(
    examples: Sequence[Example], emergencies: Sequence[EmergencyExample]
) -> list[EmergencyExample]:
    """The emergency head's training rows: subcategory examples as their line, then the
    labelled emergency examples, all normalised as the intake normalises what it classifies."""
    normalise = Normalizer()
    rows = [
        EmergencyExample(normalise(e.text), line_of_subcategory(e.subcategory), "taxonomy")
        for e in examples
    ]
    rows += [EmergencyExample(normalise(e.text), e.line, e.source) for e in emergencies]
    return rows


def fit_emergency_head(model: TextClassifier, rows: Sequence[EmergencyExample]) -> EmergencyHead:
    """Fit the head on ``model``'s evidence for ``rows``; labelled examples count double, and
    a long one is learnt through its windows (:func:`fit_focused`)."""
    labelled = [row.source != "taxonomy" for row in rows]
    return fit_focused(
        model.evidence,
        [row.text for row in rows],
        [row.line for row in rows],
        [EXAMPLE_WEIGHT if is_labelled else 1.0 for is_labelled in labelled],
        labelled,
    )
