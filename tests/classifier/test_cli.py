"""The `classifier` command group on tiny CSV files, driven through click's CliRunner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hotline.classifier.cli import classifier
from hotline.classifier.model import TextClassifier
from tests.classifier.conftest import HELD_OUT, training_rows

SUMMARY_KEYS = {"accuracy", "macro_f1", "top3", "p50_ms", "p99_ms", "n"}


def _write_csv(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("内容", "类别")
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(classifier, args, catch_exceptions=False)


def _summary(result: Result) -> dict[str, float]:
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == SUMMARY_KEYS
    return summary


@pytest.fixture(scope="module")
def lexical_artifact(
    lexical_model: TextClassifier, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("cli") / "model"
    lexical_model.save(path)
    return path


def test_cv_on_tiny_csv_prints_json_last(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "train.csv", training_rows())
    result = _run(
        [
            "cv",
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--folds",
            "3",
            "--no-encoder",
            "--json",
        ]
    )
    summary = _summary(result)
    assert summary["n"] == len(training_rows())
    assert summary["accuracy"] >= 0.8
    assert summary["top3"] >= summary["accuracy"]
    assert summary["p99_ms"] >= summary["p50_ms"] > 0
    assert "most confused" in result.stdout or summary["accuracy"] == 1.0


def test_cv_drops_rare_labels(tmp_path: Path) -> None:
    rows = [*training_rows(), ("一条孤零零的留言", "rare")]
    data = _write_csv(tmp_path / "train.csv", rows)
    result = _run(
        [
            "cv",
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--folds",
            "3",
            "--no-encoder",
            "--json",
        ]
    )
    assert _summary(result)["n"] == len(training_rows())
    assert "dropping 1 labels" in result.stderr


def test_eval_scores_held_out_messages(lexical_artifact: Path, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "test.csv", HELD_OUT)
    result = _run(
        [
            "eval",
            "--model",
            str(lexical_artifact),
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--json",
        ]
    )
    summary = _summary(result)
    assert summary["n"] == len(HELD_OUT)
    assert summary["accuracy"] >= 0.875
    assert "precision" in result.stdout


def test_eval_with_map_counts_unmapped_predictions_wrong(
    lexical_artifact: Path, tmp_path: Path
) -> None:
    # external labels: "公用事业" for water only; noise/bus/insurance are not mapped
    rows = [(text, "公用事业" if label == "water" else "其他") for text, label in HELD_OUT]
    data = _write_csv(tmp_path / "test.csv", rows)
    mapping = tmp_path / "map.yml"
    mapping.write_text('"water": 公用事业\n"noise": 其他\n', encoding="utf-8")
    result = _run(
        [
            "eval",
            "--model",
            str(lexical_artifact),
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--map",
            str(mapping),
            "--json",
        ]
    )
    summary = _summary(result)
    # water (2) and noise (2) map correctly; bus and insurance (4) have no counterpart
    assert summary["accuracy"] == pytest.approx(4 / 8)
    assert "(unmapped)" in result.stdout


def test_eval_rejects_map_with_unknown_code(lexical_artifact: Path, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "test.csv", HELD_OUT)
    mapping = tmp_path / "map.yml"
    mapping.write_text('"9999": 其他\n', encoding="utf-8")
    result = CliRunner().invoke(
        classifier,
        [
            "eval",
            "--model",
            str(lexical_artifact),
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--map",
            str(mapping),
        ],
    )
    assert result.exit_code == 2
    assert "9999" in result.stderr


def test_eval_rejects_unknown_labels_without_map(lexical_artifact: Path, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "test.csv", [("停水了", "供水")])
    result = CliRunner().invoke(
        classifier,
        [
            "eval",
            "--model",
            str(lexical_artifact),
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
        ],
    )
    assert result.exit_code == 2
    assert "供水" in result.stderr
    assert "--map" in result.stderr


@pytest.mark.parametrize("option", ["--text-column", "--label-column"])
def test_bad_column_is_a_usage_error(tmp_path: Path, option: str) -> None:
    data = _write_csv(tmp_path / "train.csv", training_rows())
    columns = {"--text-column": "内容", "--label-column": "类别", option: "没有这列"}
    result = CliRunner().invoke(
        classifier,
        [
            "cv",
            "--data",
            str(data),
            "--no-encoder",
            "--text-column",
            columns["--text-column"],
            "--label-column",
            columns["--label-column"],
        ],
    )
    assert result.exit_code == 2
    assert "no column '没有这列'" in result.stderr
    assert "内容, 类别" in result.stderr


def test_empty_data_is_a_usage_error(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "empty.csv", [("", "noise"), ("停水", "")])
    result = CliRunner().invoke(
        classifier,
        [
            "cv",
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
            "--no-encoder",
        ],
    )
    assert result.exit_code == 2
    assert "no row has both" in result.stderr


def test_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    data = tmp_path / "binary.csv"
    data.write_bytes(b"\xff\xfe\x00garbage\x81")
    result = CliRunner().invoke(
        classifier,
        ["cv", "--data", str(data), "--text-column", "a", "--label-column", "b", "--no-encoder"],
    )
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_missing_model_is_reported(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "test.csv", HELD_OUT)
    result = CliRunner().invoke(
        classifier,
        [
            "eval",
            "--model",
            str(tmp_path / "absent"),
            "--data",
            str(data),
            "--text-column",
            "内容",
            "--label-column",
            "类别",
        ],
    )
    assert result.exit_code == 1
    assert "no classifier artifact" in result.stderr
