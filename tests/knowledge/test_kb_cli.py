import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hotline.config import Config
from hotline.encoders.base import Encoder
from hotline.knowledge.cli import kb
from hotline.knowledge.gaps import GapRecorder
from hotline.storage.db import Database
from hotline.storage.repos import knowledge as repo
from tests.knowledge.kb_helpers import make_users


def _run(config: Config, *args: str) -> Any:
    return CliRunner().invoke(kb, list(args), obj={"config": config})


async def _setup(url: str, encoder: Encoder | None = None) -> None:
    database = Database(url)
    try:
        await make_users(database)
        if encoder is not None:
            async with database.session() as session:
                await GapRecorder(encoder).record(session, text="宠物狗办证在哪里", confidence=0.1)
    finally:
        await database.dispose()


async def _entries(url: str) -> list[Any]:
    database = Database(url)
    try:
        async with database.session() as session:
            return await repo.all_entries(session)
    finally:
        await database.dispose()


@pytest.fixture
def prepared(config: Config, database_url: str) -> Config:
    asyncio.run(_setup(database_url))
    return config


def test_the_group_includes_the_retrieval_eval_command() -> None:
    result = CliRunner().invoke(kb, ["--help"])
    for name in ("eval", "import", "export", "reindex", "load-sample", "gaps", "expire"):
        assert name in result.output


def test_load_sample_is_idempotent_and_reindex_persists(
    prepared: Config, database_url: str
) -> None:
    first = _run(prepared, "load-sample")
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "36 sample entries published"
    assert _run(prepared, "load-sample").output.strip() == "0 sample entries published"
    result = _run(prepared, "reindex")
    assert result.exit_code == 0, result.output
    assert "index rebuilt: 36 entries, seq 36" in result.output
    assert (prepared.data_dir / "knowledge-index" / "manifest.json").exists()
    assert _run(prepared, "expire").output.strip() == "0 entries expired"


def test_import_is_all_or_nothing_unless_skip_bad(
    prepared: Config, database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "kb.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [["标准问", "答案", "相似问"], ["问一", "答一", "问甲|问乙"], ["问二", "", ""]]
        )
    args = ["import", str(path), "--question-column", "标准问", "--answer-column", "答案"]
    args += ["--similar-column", "相似问", "--author", "editor"]
    refused = _run(prepared, *args)
    assert refused.exit_code == 1
    assert "line 3: answer: empty" in refused.output
    assert asyncio.run(_entries(database_url)) == []
    done = _run(prepared, *args, "--skip-bad", "--publish")
    assert done.exit_code == 0, done.output
    assert "skipped line 3: answer: empty" in done.output
    assert "1 entries imported as published" in done.output
    [entry] = asyncio.run(_entries(database_url))
    assert (entry.question, entry.similar_questions, entry.status) == (
        "问一",
        ["问甲", "问乙"],
        "published",
    )
    unknown = _run(prepared, *args[:-1], "nobody")
    assert unknown.exit_code == 1
    assert "staff user nobody does not exist" in unknown.output


def test_export_and_gaps(
    config: Config, database_url: str, tmp_path: Path, encoder: Encoder
) -> None:
    asyncio.run(_setup(database_url, encoder))
    assert _run(config, "load-sample").exit_code == 0
    out = tmp_path / "kb.json"
    result = _run(config, "export", str(out))
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert len(exported) == 36
    assert exported[0]["status"] == "published"
    gaps = _run(config, "gaps", "--json")
    assert json.loads(gaps.output.splitlines()[0])["representative"] == "宠物狗办证在哪里"
    bad = _run(config, "export", str(tmp_path / "kb.txt"))
    assert bad.exit_code == 1
    assert "unknown format" in bad.output
