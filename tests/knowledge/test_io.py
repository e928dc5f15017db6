import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import Workbook

from hotline.classifier.taxonomy import load_taxonomy
from hotline.errors import BadRequest
from hotline.knowledge import io
from hotline.knowledge.workflow import EntryContent
from hotline.storage.db import Database
from hotline.storage.repos import knowledge as repo
from tests.knowledge.kb_helpers import make_users, published_entry

UNITS_FILE = Path(io.SAMPLE_FILE).with_name("units.yml")


def _csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


async def _import(database: Database, path: Path, **kwargs: Any) -> io.ImportReport:
    fmt = kwargs.pop("fmt", None)
    columns = kwargs.pop("columns", io.Columns("问题", "答复", "部门", "相似问"))
    async with database.session() as session:
        return await io.import_entries(
            session,
            io.read_rows(path, io.guess_format(path, fmt)),
            columns=columns,
            author_id=1,
            actor="import:editor",
            **kwargs,
        )


async def _count(database: Database) -> int:
    async with database.session() as session:
        return len(await repo.all_entries(session))


@pytest.fixture
def bad_csv(tmp_path: Path) -> Path:
    return _csv(
        tmp_path / "kb.csv",
        [
            ["问题", "答复", "部门", "相似问"],
            ["水费怎么交？", "用临江水务公众号缴纳。", "LJ-SW", "网上交水费|水费在哪交"],
            ["", "没有问题的答复", "", ""],
            ["停电找谁？", "多行\n答复\n内容", "LJ-GD", "停电了\n停电报修"],
            ["燃气报装", "", "", ""],
            ["网上交水费", "重复的相似问", "", ""],
            ["已有问题", "知识库里已经有了", "", ""],
            ["太长的答复", "长" * 5001, "", ""],
            ["新生儿落户", "带出生证明去派出所。", "LJ-GA", ""],
        ],
    )


async def test_bad_rows_reject_the_whole_import_with_line_numbers(
    database: Database, bad_csv: Path
) -> None:
    users = await make_users(database)
    await published_entry(database, users, "已有问题")
    with pytest.raises(io.ImportRejected) as caught:
        await _import(database, bad_csv)
    assert [(p.line, p.reason.split(":")[0]) for p in caught.value.problems] == [
        (3, "question"),
        (8, "answer"),
        (9, "duplicate question '网上交水费' (also on line 2)"),
        (10, "question '已有问题' is already in the knowledge base (entry 1)"),
        (11, "answer"),
    ]
    assert "empty" in caught.value.problems[0].reason
    assert "5000" in caught.value.problems[-1].reason
    assert caught.value.status == 422
    assert await _count(database) == 1


async def test_skip_bad_imports_the_good_rows_as_drafts(database: Database, bad_csv: Path) -> None:
    await make_users(database)
    report = await _import(database, bad_csv, skip_bad=True)
    assert len(report.imported) == 4
    assert [p.line for p in report.problems] == [3, 8, 9, 11]
    async with database.session() as session:
        entries = await repo.all_entries(session)
        history = await repo.history(session, entry_id=entries[1].id or 0)
        changes = await repo.changes_after(session, seq=0)
    assert [(e.question, e.status, e.unit_code) for e in entries] == [
        ("水费怎么交？", "draft", "LJ-SW"),
        ("停电找谁？", "draft", "LJ-GD"),
        ("已有问题", "draft", None),
        ("新生儿落户", "draft", "LJ-GA"),
    ]
    assert entries[1].similar_questions == ["停电了", "停电报修"]
    assert entries[1].answer == "多行\n答复\n内容"
    assert [(h.action, h.actor) for h in history] == [("imported", "import:editor")]
    assert changes == []


async def test_publish_flag_publishes_and_logs_changes(database: Database, tmp_path: Path) -> None:
    await make_users(database)
    path = _csv(tmp_path / "ok.csv", [["问题", "答复"], ["问一", "答一"], ["问二", "答二"]])
    columns = io.Columns("问题", "答复")
    report = await _import(database, path, columns=columns, publish_now=True)
    async with database.session() as session:
        live = await repo.live(session)
        changes = await repo.changes_after(session, seq=0)
    assert [e.id for e in live] == report.imported
    assert [c.entry_id for c in changes] == report.imported


async def test_xlsx_json_and_rasa_are_read(database: Database, tmp_path: Path) -> None:
    await make_users(database)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["问题", "答复", "部门", "相似问"])
    sheet.append(["居住证怎么办？", "到派出所办理。", "LJ-GA", "居住证在哪办|办居住证\n居住证材料"])
    sheet.append([None, None, None, None])
    sheet.append(["失业金怎么领？", "线上申领。", None, None])
    workbook.save(tmp_path / "kb.xlsx")
    (tmp_path / "kb.json").write_text(
        json.dumps([{"问题": "水费怎么交", "答复": "公众号缴纳", "相似问": ["交水费"]}]),
        encoding="utf-8",
    )
    (tmp_path / "faq.yml").write_text(
        "version: '3.1'\nnlu:\n- intent: faq/gas\n  examples: |\n    - 燃气怎么报装\n"
        "    - 新房通天然气\nresponses:\n  utter_faq/gas:\n  - text: 在临江燃气公众号申请。\n",
        encoding="utf-8",
    )
    xlsx = await _import(database, tmp_path / "kb.xlsx")
    await _import(database, tmp_path / "kb.json")
    rasa = await _import(database, tmp_path / "faq.yml", columns=io.Columns())
    assert (len(xlsx.imported), len(rasa.imported)) == (2, 1)
    async with database.session() as session:
        entries = {e.question: e for e in await repo.all_entries(session)}
    assert entries["居住证怎么办？"].similar_questions == ["居住证在哪办", "办居住证", "居住证材料"]
    assert entries["水费怎么交"].similar_questions == ["交水费"]
    assert entries["燃气怎么报装"].similar_questions == ["新房通天然气"]
    assert entries["燃气怎么报装"].answer == "在临江燃气公众号申请。"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
async def test_export_reads_back_as_the_same_content(
    database: Database, tmp_path: Path, fmt: str
) -> None:
    users = await make_users(database)
    await published_entry(
        database,
        users,
        "社保卡怎么补办？",
        similar_questions=["社保卡丢了", "补卡"],
        keywords=["社保卡"],
    )
    await published_entry(database, users, "水费怎么交？", spoken_answer="公众号交。")
    async with database.session() as session:
        rows = io.export_rows(await repo.all_entries(session))
    path = tmp_path / f"kb.{fmt}"
    io.write_export(rows, path, fmt)
    back, problems = io.parse_rows(
        io.read_rows(path, fmt), io.Columns(spoken="spoken_answer"), known={}
    )
    assert problems == []
    assert [(c.question, c.similar_questions, c.spoken_answer) for c in back] == [
        ("社保卡怎么补办？", ["社保卡丢了", "补卡"], None),
        ("水费怎么交？", [], "公众号交。"),
    ]


def test_unreadable_files_and_missing_columns_are_bad_requests(tmp_path: Path) -> None:
    path = _csv(tmp_path / "kb.csv", [["q", "a"], ["问", "答"]])
    with pytest.raises(BadRequest, match="missing columns: question, answer"):
        io.parse_rows(io.read_rows(path, "csv"), io.Columns(), known={})
    with pytest.raises(BadRequest, match="unknown format"):
        io.guess_format(tmp_path / "kb.txt", None)
    (tmp_path / "bad.json").write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(BadRequest, match="JSON list"):
        io.read_rows(tmp_path / "bad.json", "json")


def test_the_sample_uses_valid_codes_and_units() -> None:
    taxonomy = load_taxonomy()
    units = {u["code"] for u in yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))["units"]}
    entries = yaml.safe_load(io.SAMPLE_FILE.read_text(encoding="utf-8"))["entries"]
    assert 30 <= len(entries) <= 40
    questions = set()
    for raw in entries:
        content = EntryContent.model_validate(raw)
        assert content.subcategory_code
        assert content.spoken_answer
        assert taxonomy.subcategory(content.subcategory_code).category_code == content.category_code
        assert content.unit_code is None or content.unit_code in units
        assert 2 <= len(content.similar_questions) <= 4
        for question in (content.question, *content.similar_questions):
            assert question not in questions
            questions.add(question)


async def test_loading_the_sample_is_idempotent(database: Database) -> None:
    users = await make_users(database)
    async with database.session() as session:
        first = await io.load_sample_knowledge(session, author_id=users["admin"].id or 0)
    async with database.session() as session:
        again = await io.load_sample_knowledge(session, author_id=users["admin"].id or 0)
        live = await repo.live(session)
    assert (first, again, len(live)) == (36, 0, 36)
    assert all(e.published_version == 1 for e in live)
