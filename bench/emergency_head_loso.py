"""The classifier's emergency head on wording it has not seen: leave one labelled set out.

Usage (from the repository root, after ``make run`` or ``hotline classifier train``):

    .venv/bin/python bench/emergency_head_loso.py [--model .data/models/classifier] [--errors]

The head (``hotline.classifier.emergency_head``) learns from the taxonomy utterances and the
labelled emergency sets of ``hotline/classifier/data/emergency``. For each of those sets in turn
it is trained exactly as ``hotline classifier train`` trains it, on the utterances and every
*other* set, and scored on the set left out; the trained model's featurizer and encoder are
reused (neither learns from the emergency sets). Recall, right line and false positives on the
hard negatives are reported per set and in total, at several referral probabilities, and at the
referral probability with long texts also read in windows of clauses (``clause_windows``), as
the intake reads them. Sets still waiting in ``bench/data`` are scored by the head trained on
all packaged sets, and left out of the total.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from nlu_emergency_eval import SETS, Score

from hotline.classifier.emergency_head import (
    DEFAULT_EXAMPLES_DIR,
    EXAMPLE_WEIGHT,
    LINES,
    REFERRAL_PROBABILITY,
    WINDOW_REFERRAL_PROBABILITY,
    call,
    clause_windows,
    fit_focused,
    load_emergency_examples,
    read_emergency_file,
    strongest_window,
)
from hotline.classifier.intake_step import TaxonomyClassifierStep, load_classifier_step
from hotline.classifier.taxonomy import load_taxonomy
from hotline.classifier.taxonomy_training import Example, emergency_rows
from hotline.classifier.utterances import load_utterances
from hotline.encoders.factory import USE_ONNX, load_encoder
from hotline.nlu.analyzer import Analyzer

THRESHOLDS = (0.2, REFERRAL_PROBABILITY, 0.4, 0.5, 0.6)
WINDOW_THRESHOLDS = (0.4, 0.5, WINDOW_REFERRAL_PROBABILITY, 0.7)
POLICIES = ("rules' line first", "head's line first")


def decide(policy: str, rules: str, head: str) -> str:
    """The line the intake refers to under ``policy`` (either signal refers)."""
    first, second = (rules, head) if policy == POLICIES[0] else (head, rules)
    return first if first != "none" else second


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

    # each labelled text's windows (a long letter is read again in windows of clauses)
    windows = {i: clause_windows(rows[i].text) for i in np.flatnonzero(sources != "taxonomy")}
    window_texts = [w for i in sorted(windows) for w in windows[i]]
    window_lexical, window_vectors = model.evidence(window_texts)
    first_window, start = {}, 0
    for i in sorted(windows):
        first_window[i], start = start, start + len(windows[i])
    # the head's training reads the same texts and windows again: look their evidence up
    position = {row.text: i for i, row in enumerate(rows)}
    position |= {w: len(rows) + j for j, w in enumerate(window_texts) if w not in position}
    all_lexical = sp.vstack([lexical, window_lexical], format="csr")
    all_vectors = None if vectors is None else np.vstack([vectors, window_vectors])

    def evidence(texts: list[str]) -> tuple[sp.csr_matrix, np.ndarray | None]:
        at = [position[text] for text in texts]
        return all_lexical[at], None if all_vectors is None else all_vectors[at]

    scores = {t: {"total": Score()} for t in THRESHOLDS}
    windowed = {t: {"total": Score()} for t in WINDOW_THRESHOLDS}
    # the intake refers when the rules or the head (with windows) does; when both do and name
    # different lines, one of them decides the line
    analyzer = Analyzer()
    intake: dict[str, dict[str, Score]] = {p: {"total": Score()} for p in POLICIES}
    for name in dict.fromkeys(sources):
        if name == "taxonomy":
            continue
        # a packaged set is left out; a waiting set was never in: train on all packaged sets
        train = (sources != name) & ~np.isin(sources, list(waiting_sets))
        # the total counts the packaged sets, each left out; not a waiting set
        in_total = name not in waiting_sets

        chosen = np.flatnonzero(train)
        head = fit_focused(
            evidence,
            [rows[i].text for i in chosen],
            [lines[i] for i in chosen],
            list(weights[chosen]),
            [bool(sources[i] != "taxonomy") for i in chosen],
        )
        test = np.flatnonzero(sources == name)
        probabilities = head.probabilities(
            lexical[test], None if vectors is None else vectors[test]
        )
        all_windows = head.probabilities(window_lexical, window_vectors)
        for i, row in zip(test, probabilities, strict=True):
            mine = all_windows[first_window[i] : first_window[i] + len(windows[i])]
            for threshold, by_set in windowed.items():
                got = call(row).line
                if got is None:
                    buried = strongest_window(mine, threshold)
                    got = buried.line if buried else None
                note = f"{name}: expected {lines[i]} got {got or 'none'} (windows) | {rows[i].text}"
                for score in [by_set.setdefault(name, Score())] + [by_set["total"]] * in_total:
                    score.add(lines[i], got or "none", note)
            # the intake, with the windows at the shipped threshold
            buried = None if call(row).line else strongest_window(mine)
            got = call(row).line or (buried.line if buried else None)
            rules = str(analyzer.analyze(rows[i].text).emergency)
            for policy, by_set in intake.items():
                line = decide(policy, rules, got or "none")
                note = f"{name}: expected {lines[i]} got {line} (rules {rules}) | {rows[i].text}"
                for score in [by_set.setdefault(name, Score())] + [by_set["total"]] * in_total:
                    score.add(lines[i], line, note)
        for threshold in THRESHOLDS:
            bucket = scores[threshold].setdefault(name, Score())
            for i, row in zip(test, probabilities, strict=True):
                emergency = 1.0 - row[0]
                got = LINES[1 + int(np.argmax(row[1:]))] if emergency >= threshold else "none"
                note = f"{name}: expected {lines[i]} got {got} ({emergency:.2f}) | {rows[i].text}"
                for score in [bucket] + [scores[threshold]["total"]] * in_total:
                    score.add(lines[i], got, note)
    for threshold, by_set in scores.items():
        marker = "  <- REFERRAL_PROBABILITY" if threshold == REFERRAL_PROBABILITY else ""
        print(f"referral probability {threshold}{marker}")
        for name, score in by_set.items():
            summary = score.as_dict()
            summary.pop("positives_by_service")
            held = "" if name not in waiting_sets else " (waiting set: head trained on all)"
            print(f"  {name}{held}: {json.dumps(summary)}")
    for threshold, by_set in windowed.items():
        marker = (
            "  <- WINDOW_REFERRAL_PROBABILITY" if threshold == WINDOW_REFERRAL_PROBABILITY else ""
        )
        print(
            f"referral probability {REFERRAL_PROBABILITY}, long texts also read in windows "
            f"referring at {threshold}{marker}"
        )
        for name, score in by_set.items():
            summary = score.as_dict()
            summary.pop("positives_by_service")
            print(f"  {name}: {json.dumps(summary)}")
    for policy, by_set in intake.items():
        print(f"as the intake decides, the head held out: {policy}")
        for name, score in by_set.items():
            summary = score.as_dict()
            summary.pop("positives_by_service")
            print(f"  {name}: {json.dumps(summary)}")
    if args.errors:
        print("--- errors at the referral probability")
        print("\n".join(scores[REFERRAL_PROBABILITY]["total"].errors) or "(none)")


if __name__ == "__main__":
    main()
