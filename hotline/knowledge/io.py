"""Importing and exporting knowledge entries (CSV, XLSX, JSON, Rasa FAQ YAML), and the sample.

Imports are all-or-nothing by default: every row is validated first (empty question or answer,
too long, a question repeated within the file or already in the knowledge base) and if any
row is bad nothing is written and :class:`ImportRejected` lists every problem with its line.
With ``skip_bad`` the good rows are imported and the bad ones reported. Either way the import
is one transaction. Rows become drafts, or with ``publish`` go live at once (an administrative
bulk load that bypasses review; the history records it as ``imported``).

Line numbers: CSV counts physical lines (the header is line 1); XLSX counts sheet rows; JSON
and Rasa count items from 1.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.errors import BadRequest, ValidationFailed
from hotline.knowledge.workflow import EntryContent, publish, snapshot
from hotline.storage.models import KnowledgeEntry, KnowledgeVersion
from hotline.storage.repos import knowledge as repo

FORMATS = ("csv", "xlsx", "json", "rasa")
SAMPLE_FILE = Path(__file__).resolve().parents[1] / "sample" / "knowledge.yml"
EXPORT_COLUMNS = (
    "id", "status", "version", "question", "similar_questions", "answer", "spoken_answer",
    "category_code", "subcategory_code", "unit_code", "keywords", "valid_from", "valid_to",
)  # fmt: skip
_SPLIT = re.compile(r"[|\n]+")


class ImportRejected(ValidationFailed):
    """Some rows are bad; nothing was imported."""

    def __init__(self, problems: list[RowProblem]) -> None:
        lines = "; ".join(f"line {p.line}: {p.reason}" for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} bad rows, nothing imported: {lines}{more}")
        self.problems = problems


@dataclass(frozen=True)
class Columns:
    """Which source columns hold what (Rasa and JSON exports use the default names)."""

    question: str = "question"
    answer: str = "answer"
    department: str | None = None
    similar: str | None = None
    spoken: str | None = None


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def guess_format(path: Path, given: str | None) -> str:
    """``given``, else the file extension (``.yml``/``.yaml`` mean Rasa)."""
    fmt = given or {".yml": "rasa", ".yaml": "rasa"}.get(path.suffix.lower(), path.suffix[1:])
    if fmt.lower() not in FORMATS:
        raise BadRequest(f"{path}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt.lower()


def read_rows(path: Path, fmt: str) -> list[tuple[int, dict[str, Any]]]:
    """The file's records with their line numbers."""
    try:
        if fmt == "csv":
            return _read_csv(path)
        if fmt == "xlsx":
            return _read_xlsx(path)
        if fmt == "json":
            items = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise BadRequest(f"{path}: expected a JSON list of objects")
            return list(enumerate(items, start=1))
        return _read_rasa(path)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as e:
        raise BadRequest(f"{path}: cannot read it as {fmt}: {e}") from e


def _read_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        rows, start = [], 2
        for row in reader:
            rows.append((start, dict(row)))
            start = reader.line_num + 1
        return rows


def _read_xlsx(path: Path) -> list[tuple[int, dict[str, Any]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(values, ())]
        return [
            (number, {h: ("" if v is None else str(v)) for h, v in zip(header, row, strict=False)})
            for number, row in enumerate(values, start=2)
            if any(v not in (None, "") for v in row)
        ]
    finally:
        workbook.close()


def _read_rasa(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Rasa retrieval intents: ``nlu: - intent: faq/x examples: |`` + ``utter_faq/x``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    responses = data.get("responses") or {}
    rows = []
    for number, item in enumerate(data.get("nlu") or [], start=1):
        intent = str(item.get("intent", ""))
        examples = [
            line.strip()[1:].strip()
            for line in str(item.get("examples", "")).splitlines()
            if line.strip().startswith("-")
        ]
        texts = responses.get(f"utter_{intent}") or [{}]
        rows.append(
            (
                number,
                {
                    "question": examples[0] if examples else "",
                    "similar_questions": "|".join(examples[1:]),
                    "answer": str(texts[0].get("text", "")),
                },
            )
        )
    return rows


def parse_rows(
    rows: list[tuple[int, dict[str, Any]]], columns: Columns, known: dict[str, int]
) -> tuple[list[EntryContent], list[RowProblem]]:
    """Valid contents and every problem; ``known`` are questions already in the base."""
    if rows:
        wanted = [c for c in (columns.question, columns.answer) if c not in rows[0][1]]
        if wanted:
            raise BadRequest(f"missing columns: {', '.join(wanted)}; found {list(rows[0][1])}")
    good: list[EntryContent] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        try:
            content = _content(raw, columns)
        except ValidationError as e:
            problems.append(RowProblem(line, _reason(e)))
            continue
        clash = _clash(content, seen, known)
        if clash:
            problems.append(RowProblem(line, clash))
            continue
        seen.update(dict.fromkeys((content.question, *content.similar_questions), line))
        good.append(content)
    return good, problems


def _content(raw: dict[str, Any], columns: Columns) -> EntryContent:
    def cell(name: str | None) -> str:
        return str(raw.get(name) or "").strip() if name else ""

    similar = raw.get(columns.similar or "similar_questions") or ""
    return EntryContent(
        question=cell(columns.question),
        answer=cell(columns.answer),
        similar_questions=similar if isinstance(similar, list) else _SPLIT.split(str(similar)),
        unit_code=cell(columns.department) or None,
        spoken_answer=cell(columns.spoken) or None,
    )


def _clash(content: EntryContent, seen: dict[str, int], known: dict[str, int]) -> str | None:
    for question in (content.question, *content.similar_questions):
        if question in seen:
            return f"duplicate question {question!r} (also on line {seen[question]})"
        if question in known:
            return (
                f"question {question!r} is already in the knowledge base (entry {known[question]})"
            )
    return None


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "row"
        kind = "empty" if item["type"] == "string_too_short" else item["msg"]
        parts.append(f"{where}: {kind}")
    return "; ".join(parts)


async def import_entries(
    session: AsyncSession,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    columns: Columns,
    author_id: int,
    actor: str,
    publish_now: bool = False,
    skip_bad: bool = False,
) -> ImportReport:
    """Validate everything, then create drafts (or published entries) in this transaction."""
    good, problems = parse_rows(rows, columns, await repo.known_questions(session))
    if problems and not skip_bad:
        raise ImportRejected(problems)
    report = ImportReport(problems=problems)
    for content in good:
        entry = await add_entry(
            session, content=content, author_id=author_id, actor=actor, publish_now=publish_now
        )
        report.imported.append(entry.id or 0)
    return report


async def add_entry(
    session: AsyncSession, *, content: EntryContent, author_id: int, actor: str, publish_now: bool
) -> KnowledgeEntry:
    """One imported entry, recorded as ``imported`` and optionally published at once."""
    entry = KnowledgeEntry(author_id=author_id, **content.model_dump())
    await repo.save(session, entry)
    if publish_now:
        await publish(session, entry, actor=actor, action="imported", changes="bulk import")
    else:
        row = KnowledgeVersion(
            entry_id=entry.id or 0,
            version=1,
            action="imported",
            snapshot=snapshot(entry),
            actor=actor,
        )
        await repo.add_version(session, row)
    return entry


def export_rows(entries: list[KnowledgeEntry]) -> list[dict[str, Any]]:
    """Working copies with their state; lists joined by ``|`` for flat formats."""
    return [{"id": e.id, "status": e.status, **snapshot(e)} for e in entries]


def write_export(rows: list[dict[str, Any]], path: Path, fmt: str) -> None:
    if fmt == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
        return
    flat = [[_flat(row.get(c)) for c in EXPORT_COLUMNS] for row in rows]
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows(flat)
        return
    if fmt != "xlsx":
        raise BadRequest(f"cannot export to {fmt}; use csv, xlsx or json")
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.append(list(EXPORT_COLUMNS))
    for row in flat:
        sheet.append(row)
    workbook.save(path)


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return "" if value is None else str(value)


async def load_sample_knowledge(session: AsyncSession, *, author_id: int) -> int:
    """Publish the sample 临江市 entries that are missing (by question); returns how many."""
    text = await asyncio.to_thread(SAMPLE_FILE.read_text, encoding="utf-8")
    data = yaml.safe_load(text)
    known = await repo.known_questions(session, include_retired=True)
    created = 0
    for item in data["entries"]:
        content = EntryContent.model_validate(item)
        if content.question in known:
            continue
        await add_entry(
            session, content=content, author_id=author_id, actor="system", publish_now=True
        )
        created += 1
    return created
