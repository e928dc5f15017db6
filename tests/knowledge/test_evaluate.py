"""Evaluation metrics on a hand-checked case, and the ``kb eval`` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.knowledge.retrieval.cli import kb
from hotline.knowledge.retrieval.documents import Hit
from hotline.knowledge.retrieval.evaluate import evaluate
from hotline.knowledge.retrieval.index import HybridIndex
from tests.knowledge.small_kb import SMALL_KB


class FixedRanking:
    """Returns a fixed ranking per query."""

    def __init__(self, rankings: dict[str, list[int]]) -> None:
        self.rankings = rankings

    def search(self, query: str, *, k: int = 5) -> list[Hit]:
        return [Hit(e, 0.5, query, 0.5, 0.5) for e in self.rankings[query][:k]]


def test_metrics_on_a_hand_checked_case() -> None:
    index = FixedRanking({"a": [1, 2, 3], "b": [2, 1, 3], "c": [4, 5, 3], "d": [9, 8, 7]})
    report = evaluate(index, [("a", 1), ("b", 1), ("c", 3), ("d", 1)])
    assert report.n == 4
    assert report.recall_at_1 == pytest.approx(1 / 4)
    assert report.recall_at_3 == pytest.approx(3 / 4)
    assert report.mrr == pytest.approx((1 + 1 / 2 + 1 / 3 + 0) / 4)
    assert 0 <= report.p50_ms <= report.p99_ms


def test_evaluate_refuses_no_queries() -> None:
    with pytest.raises(ValueError, match="at least one"):
        evaluate(FixedRanking({}), [])


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_cli_json_last_line(tmp_path: Path, encoder: object) -> None:
    kb_csv = write_csv(
        tmp_path / "kb.csv", ["q", "a"], [[d.questions[0], "答复"] for d in SMALL_KB]
    )
    data = write_csv(
        tmp_path / "queries.csv",
        ["text", "expected"],
        [["身份证丢了", SMALL_KB[1].questions[0]], ["晚上工地太吵", SMALL_KB[4].questions[0]]],
    )
    args = ["eval", "--data", str(data), "--query-column", "text", "--expected-column",
            "expected", "--kb", str(kb_csv), "--question-column", "q", "--answer-column", "a",
            "--json"]  # fmt: skip
    result = CliRunner().invoke(kb, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert set(figures) == {"recall_at_1", "recall_at_3", "mrr", "p50_ms", "p99_ms", "n"}
    assert figures["n"] == 2
    assert figures["recall_at_1"] == 1.0


def test_cli_names_an_unknown_expected_question(tmp_path: Path, encoder: object) -> None:
    kb_csv = write_csv(tmp_path / "kb.csv", ["q"], [[d.questions[0]] for d in SMALL_KB])
    data = write_csv(tmp_path / "queries.csv", ["query", "expected_question"], [["x", "不存在"]])
    result = CliRunner().invoke(
        kb, ["eval", "--data", str(data), "--kb", str(kb_csv), "--question-column", "q"]
    )
    assert result.exit_code != 0
    assert "不存在" in result.output


def test_cli_evaluates_a_saved_index(small_index: HybridIndex, tmp_path: Path) -> None:
    small_index.save(tmp_path / "idx")
    data = write_csv(
        tmp_path / "queries.csv",
        ["query", "expected_question"],
        [["暖气片不热", SMALL_KB[8].questions[0]], ["下岗了能领钱吗", SMALL_KB[7].questions[0]]],
    )
    result = CliRunner().invoke(kb, ["eval", "--data", str(data), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert "n=2" in result.output
    assert "recall@1=1.000" in result.output


def test_cli_needs_exactly_one_source(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "queries.csv", ["query", "expected_question"], [["x", "y"]])
    result = CliRunner().invoke(kb, ["eval", "--data", str(data)])
    assert result.exit_code == 2
    assert "exactly one of --kb" in result.output
