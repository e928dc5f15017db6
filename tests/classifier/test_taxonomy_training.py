"""Training on a (small) taxonomy: utterances + descriptions + corrections, and the CLI `train`."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hotline.classifier.cli import classifier
from hotline.classifier.model import TextClassifier
from hotline.classifier.rollup import category_probabilities
from hotline.classifier.taxonomy import Taxonomy, load_taxonomy
from hotline.classifier.taxonomy_training import train_taxonomy_model
from hotline.classifier.utterances import Utterance, load_utterances
from hotline.errors import ModelError

TAXONOMY_YML = """
categories:
  - code: "01"
    name: 城市管理
    scope: 市容、噪音和公用设施。
    subcategories:
      - code: "0101"
        name: 噪音扰民
        scope: 施工、娱乐场所和邻里噪音。
        keywords: [噪音, 扰民, 施工, 吵]
        needs_place: true
        urgency: normal
        deadline_days: 5
        standard_codes: ["0101"]
      - code: "0102"
        name: 供水问题
        scope: 停水、水质和水压。
        keywords: [停水, 自来水, 水压, 水质]
        needs_place: true
        urgency: urgent
        deadline_days: 2
        standard_codes: ["0102"]
  - code: "02"
    name: 交通与社保
    scope: 公共交通和医疗保障。
    subcategories:
      - code: "0201"
        name: 公交服务
        scope: 公交线路、班次、站点和司机服务。
        keywords: [公交, 线路, 班次, 站点]
        needs_place: false
        urgency: normal
        deadline_days: 10
        standard_codes: ["0201"]
      - code: "0202"
        name: 医疗保险
        scope: 医保缴费、报销和医保卡。
        keywords: [医保, 报销, 医保卡, 缴费]
        needs_place: false
        urgency: normal
        deadline_days: 10
        standard_codes: ["0202"]
"""

CODES = {"noise": "0101", "water": "0102", "bus": "0201", "insurance": "0202"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, train_rows: list[tuple[str, str]]) -> Path:
    root = tmp_path_factory.mktemp("taxonomy")
    (root / "taxonomy.yml").write_text(TAXONOMY_YML, encoding="utf-8")
    (root / "utterances").mkdir()
    with (root / "utterances" / "all.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "subcategory", "register"])
        writer.writerows((text, CODES[label], "chat") for text, label in train_rows)
    return root


@pytest.fixture(scope="module")
def taxonomy(data_dir: Path) -> Taxonomy:
    return load_taxonomy(data_dir / "taxonomy.yml", expected_counts=None)


@pytest.fixture(scope="module")
def utterances(data_dir: Path, taxonomy: Taxonomy) -> list[Utterance]:
    return load_utterances(data_dir / "utterances", taxonomy=taxonomy)


@pytest.fixture(scope="module")
def taxonomy_model(taxonomy: Taxonomy, utterances: list[Utterance]) -> TextClassifier:
    return train_taxonomy_model(taxonomy=taxonomy, utterances=utterances, encoder=None)


def test_model_records_taxonomy_version(taxonomy_model: TextClassifier, taxonomy: Taxonomy) -> None:
    assert taxonomy_model.labels == ("0101", "0102", "0201", "0202")
    assert taxonomy_model.info.taxonomy_version == taxonomy.version


def test_taxonomy_model_predicts_codes(taxonomy_model: TextClassifier) -> None:
    (prediction,) = taxonomy_model.predict(["我们这里停水一整天了"])
    assert prediction.top.label == "0102"


def test_category_roll_up_sums_subcategories(
    taxonomy_model: TextClassifier, taxonomy: Taxonomy
) -> None:
    texts = ["我们这里停水一整天了", "医保卡报销怎么办理"]
    probabilities = taxonomy_model.probabilities(texts)
    rolled = category_probabilities(probabilities, taxonomy_model.labels, taxonomy)
    for row, categories in zip(probabilities, rolled, strict=True):
        assert set(categories) == {"01", "02"}
        assert categories["01"] == pytest.approx(row[0] + row[1])
        assert sum(categories.values()) == pytest.approx(1.0)
    assert rolled[0]["01"] > 0.5
    assert rolled[1]["02"] > 0.5


def test_feedback_moves_a_phrase(taxonomy: Taxonomy, utterances: list[Utterance]) -> None:
    phrase = "小区门口的共享单车堆成山"
    feedback = [(phrase, "0201"), ("共享单车乱停乱放堵住公交站", "0201")]
    trained = train_taxonomy_model(
        taxonomy=taxonomy, utterances=utterances, feedback=feedback, encoder=None
    )
    (prediction,) = trained.predict(["共享单车堆成山，挡住了路"])
    assert prediction.top.label == "0201"


def test_feedback_with_unknown_code_is_left_out(
    taxonomy: Taxonomy, utterances: list[Utterance]
) -> None:
    messages: list[str] = []
    trained = train_taxonomy_model(
        taxonomy=taxonomy,
        utterances=utterances,
        feedback=[("老旧的分类", "9999")],
        encoder=None,
        progress=messages.append,
    )
    assert "9999" not in trained.labels
    assert any("9999" in message for message in messages)


def test_load_checks_taxonomy_version(
    taxonomy_model: TextClassifier, taxonomy: Taxonomy, tmp_path: Path
) -> None:
    taxonomy_model.save(tmp_path / "m")
    loaded = TextClassifier.load(
        tmp_path / "m", encoder=None, expected_taxonomy_version=taxonomy.version
    )
    texts = ["公交车太挤了"]
    np.testing.assert_array_equal(loaded.probabilities(texts), taxonomy_model.probabilities(texts))
    with pytest.raises(ModelError, match="retrain"):
        TextClassifier.load(tmp_path / "m", encoder=None, expected_taxonomy_version="000000000000")


def test_cli_train_then_eval_by_category_name(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    feedback = tmp_path / "feedback.csv"
    feedback.write_text("text,subcategory\n共享单车堆在公交站,0201\n", encoding="utf-8")
    result = CliRunner().invoke(
        classifier,
        [
            "train",
            "--data-dir",
            str(data_dir),
            "--out",
            str(out),
            "--encoder",
            "none",
            "--feedback",
            str(feedback),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert "1 corrections" in result.stderr
    test_csv = tmp_path / "test.csv"
    test_csv.write_text(
        "text,label\n停水两天了,城市管理\n公交班次太少,交通与社保\n楼下施工太吵,噪音扰民\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        classifier,
        [
            "eval",
            "--model",
            str(out),
            "--data",
            str(test_csv),
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--taxonomy",
            str(data_dir / "taxonomy.yml"),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    # category-level evaluation: 噪音扰民 rolls up to 城市管理 (01)
    assert '"accuracy": 1.0' in result.stdout.splitlines()[-1]
    assert "01" in result.stdout
    assert "02" in result.stdout


def test_cli_train_names_the_bad_line_of_a_sites_emergency_examples(
    data_dir: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    shutil.copytree(data_dir, site)
    (site / "emergency").mkdir()
    (site / "emergency" / "ours.csv").write_text(
        "text,expected,note\n楼下着火了,119,x\n隔壁在吵架,911,x\n", encoding="utf-8"
    )
    out = tmp_path / "model"
    result = CliRunner().invoke(
        classifier,
        ["train", "--data-dir", str(site), "--out", str(out), "--encoder", "none"],
    )
    assert result.exit_code == 1
    assert "ours.csv:3: expected '911' is not one of none, 110" in result.output
    assert not out.exists()
