"""``hotline nlu analyze`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hotline.nlu.cli import nlu


def test_text_json() -> None:
    result = CliRunner().invoke(nlu, ["analyze", "--text", "喂 着火了 快来人", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["emergency"] == "119"
    assert data["request_type"] == "求助"
    assert "着火" in data["tokens"]
    assert "着火" in lines[0]  # ensure_ascii=False: Chinese printed as is


def test_text_readable() -> None:
    result = CliRunner().invoke(
        nlu, ["analyze", "--text", "投诉幸福路12号油烟扰民，电话13800138000"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("[1] 投诉")
    assert "138****8000" in result.output
    assert "place: 幸福路12号" in result.output


def test_csv_one_json_line_per_row(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text(
        'id,msg\n1,路灯不亮\n2,请问社保卡怎么办理\n3,"有人晕倒了，快叫救护车"\n', "utf-8-sig"
    )
    result = CliRunner().invoke(
        nlu, ["analyze", "--data", str(data), "--text-column", "msg", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [r["emergency"] for r in rows] == ["none", "none", "120"]
    assert rows[1]["request_type"] == "咨询"


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "m.csv"
    data.write_text("id,msg\n1,你好\n", "utf-8")
    result = CliRunner().invoke(nlu, ["analyze", "--data", str(data), "--text-column", "text"])
    assert result.exit_code == 2
    assert "column 'text' is not in" in result.output
    assert "id, msg" in result.output


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(nlu, ["analyze", "--data", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    result = CliRunner().invoke(nlu, ["analyze", "--data", str(binary)])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_text_and_data_are_exclusive(tmp_path: Path) -> None:
    result = CliRunner().invoke(nlu, ["analyze"])
    assert result.exit_code == 2
    assert "exactly one of --text or --data" in result.output
    result = CliRunner().invoke(nlu, ["analyze", "--text", "x", "--data", str(tmp_path)])
    assert result.exit_code == 2


def test_bad_gazetteer_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        nlu, ["analyze", "--text", "你好", "--gazetteer", str(tmp_path / "none.yml")]
    )
    assert result.exit_code == 2
    assert "gazetteer" in result.output
