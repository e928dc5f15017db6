"""The text classifier on 11,529 real citizen messages (msgabench), through the real CLI.

Usage (from the repository root):

    .venv/bin/python bench/classifier_msgabench.py [--folds 5] [--no-encoder] [--model DIR]

Runs ``classifier cv`` on the request-type column (问题类型, 3 labels) and the domain column
(问题领域, labels with fewer than 10 messages dropped), and, with ``--model`` and
``--map``, ``classifier eval`` of a trained taxonomy artifact on the domain column. Prints each
command, its report, and a closing table. Needs ../shared/data (not shipped with the repo).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "msgabench"
MESSAGES = DATA / "citizen_messages.csv"
TARGETS = {"问题类型": ("accuracy", 0.86), "问题领域": ("macro_f1", 0.55)}


def run(args: list[str]) -> dict[str, float]:
    """Run one CLI command, echo its report, return the JSON summary (its last line)."""
    command = [sys.executable, "-m", "hotline.classifier.cli", *args, "--json"]
    print("$", " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"command failed ({result.returncode}):\n{result.stderr}")
    print(result.stdout)
    summary: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    summary["seconds"] = round(time.perf_counter() - start, 1)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-encoder", action="store_true", help="lexical evidence only")
    parser.add_argument("--model", type=Path, help="taxonomy artifact to evaluate (eval)")
    parser.add_argument("--map", type=Path, help="code -> 问题领域 mapping for --model")
    args = parser.parse_args()
    if not MESSAGES.is_file():
        sys.exit(f"skipped: {MESSAGES} is absent (reference data is not part of the repo)")
    rows = {}
    for column in TARGETS:
        cv = ["cv", "--data", str(MESSAGES), "--text-column", "留言", "--label-column", column]
        cv += ["--folds", str(args.folds), "--min-count", "10"]
        if args.no_encoder:
            cv.append("--no-encoder")
        rows[f"cv {column}"] = run(cv)
    if args.model and args.map:
        evaluation = ["eval", "--model", str(args.model), "--data", str(MESSAGES)]
        evaluation += [
            "--text-column",
            "留言",
            "--label-column",
            "问题领域",
            "--map",
            str(args.map),
        ]
        rows["eval 问题领域 (taxonomy model)"] = run(evaluation)
    print(f"{'run':<34} {'n':>6} {'acc':>7} {'macroF1':>7} {'top3':>7} {'p50ms':>6} {'p99ms':>6}")
    for name, s in rows.items():
        print(
            f"{name:<34} {s['n']:>6} {s['accuracy']:>7.4f} {s['macro_f1']:>7.4f} "
            f"{s['top3']:>7.4f} {s['p50_ms']:>6.2f} {s['p99_ms']:>6.2f}"
        )
    for column, (metric, target) in TARGETS.items():
        reached = rows[f"cv {column}"][metric]
        print(
            f"target {column} {metric} >= {target}: {reached:.4f}",
            "met" if reached >= target else "NOT met",
        )


if __name__ == "__main__":
    main()
