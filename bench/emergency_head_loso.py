"""The classifier's emergency head on wording it has not seen: leave one labelled set out.

Usage (from the repository root, after ``make run`` or ``hotline classifier train``):

    .venv/bin/python bench/emergency_head_loso.py [--model .data/models/classifier] [--errors]

The head (``hotline.classifier.emergency_head``) learns from the taxonomy utterances and the
labelled emergency sets of ``hotline/classifier/data/emergency``. For each of those sets in turn
it is trained exactly as ``hotline classifier train`` trains it, on the utterances and every
*other* set, and scored on the set left out; the trained model's featurizer and encoder are
reused (neither learns from the emergency sets). Recall, right line and false positives on the
hard negatives are reported per set and in total, at several referral probabilities. Sets still
waiting in ``bench/data`` are scored by the head trained on all packaged sets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from nlu_emergency_eval import SETS, Score

from hotline.classifier.emergency_head import (
    DEFAULT_EXAMPLES_DIR,
    EXAMPLE_WEIGHT,
    LINES,
    REFERRAL_PROBABILITY,
    EmergencyHead,
    load_emergency_examples,
    read_emergency_file,
)
from hotline.classifier.intake_step import TaxonomyClassifierStep, load_classifier_step
from hotline.classifier.taxonomy import load_taxonomy
from hotline.classifier.taxonomy_training import Example, emergency_rows
from hotline.classifier.utterances import load_utterances
from hotline.encoders.factory import USE_ONNX, load_encoder

THRESHOLDS = (0.2, REFERRAL_PROBABILITY, 0.4, 0.5, 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(".data/models/classifier"))
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    args = parser.parse_args()

    taxonomy = load_taxonomy()
    step = load_classifier_step(
        args.model, taxonomy=taxonomy, encoder=load_encoder(USE_ONNX), required=True
    )
    assert isinstance(step, TaxonomyClassifierStep)
    model = step.model
    utterances = [Example(u.text, u.subcategory, 1.0) for u in load_utterances(taxonomy=taxonomy)]
    packaged = load_emergency_examples(DEFAULT_EXAMPLES_DIR)
    waiting = [
        example
        for path in SETS.values()
        if path.parent != DEFAULT_EXAMPLES_DIR
        for example in read_emergency_file(path)
    ]
    rows = emergency_rows(utterances, [*packaged, *waiting])
    lexical, vectors = model.evidence([row.text for row in rows])
    sources = np.array([row.source for row in rows])
    lines = [row.line for row in rows]
    weights = np.where(sources == "taxonomy", 1.0, EXAMPLE_WEIGHT)
    waiting_sets = {e.source for e in waiting}

    scores = {t: {"total": Score()} for t in THRESHOLDS}
    for name in dict.fromkeys(sources):
        if name == "taxonomy":
            continue
        # a packaged set is left out; a waiting set was never in: train on all packaged sets
        train = (sources != name) & ~np.isin(sources, list(waiting_sets))
        head = EmergencyHead.fit(
            lexical[train],
            None if vectors is None else vectors[train],
            [lines[i] for i in np.flatnonzero(train)],
            weights[train],
        )
        test = np.flatnonzero(sources == name)
        probabilities = head.probabilities(
            lexical[test], None if vectors is None else vectors[test]
        )
        for threshold in THRESHOLDS:
            bucket = scores[threshold].setdefault(name, Score())
            for i, row in zip(test, probabilities, strict=True):
                emergency = 1.0 - row[0]
                got = LINES[1 + int(np.argmax(row[1:]))] if emergency >= threshold else "none"
                note = f"{name}: expected {lines[i]} got {got} ({emergency:.2f}) | {rows[i].text}"
                for score in (bucket, scores[threshold]["total"]):
                    score.add(lines[i], got, note)
    for threshold, by_set in scores.items():
        marker = "  <- REFERRAL_PROBABILITY" if threshold == REFERRAL_PROBABILITY else ""
        print(f"referral probability {threshold}{marker}")
        for name, score in by_set.items():
            summary = score.as_dict()
            summary.pop("positives_by_service")
            held = "" if name not in waiting_sets else " (waiting set: head trained on all)"
            print(f"  {name}{held}: {json.dumps(summary)}")
    if args.errors:
        print("--- errors at the referral probability")
        print("\n".join(scores[REFERRAL_PROBABILITY]["total"].errors) or "(none)")


if __name__ == "__main__":
    main()
