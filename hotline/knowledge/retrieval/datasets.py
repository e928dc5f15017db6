"""Reading a knowledge base and labelled queries from CSV files (evaluation and benchmarks)."""

from __future__ import annotations

import csv
from pathlib import Path

from hotline.errors import BadRequest
from hotline.knowledge.retrieval.documents import KnowledgeDocument


def _rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise BadRequest(f"{path}: no column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as e:
        raise BadRequest(f"cannot read {path}: {e}") from e


def read_knowledge_csv(
    path: Path, *, question_column: str, answer_column: str | None = None
) -> tuple[list[KnowledgeDocument], dict[str, int]]:
    """One entry per distinct question (ids 1, 2, ... in file order) and a question → id map.

    Exact-duplicate questions are merged into the first entry: they cannot be told apart.
    """
    ids: dict[str, int] = {}
    docs: list[KnowledgeDocument] = []
    columns = [question_column] + ([answer_column] if answer_column else [])
    for row in _rows(path, columns):
        question = row[question_column].strip()
        if question and question not in ids:
            ids[question] = len(docs) + 1
            answer = row[answer_column].strip() if answer_column else ""
            docs.append(KnowledgeDocument(len(docs) + 1, (question,), answer=answer))
    return docs, ids


def read_queries_csv(
    path: Path, *, query_column: str, expected_column: str, ids: dict[str, int]
) -> list[tuple[str, int]]:
    """``(query, expected entry id)`` pairs; the expected column holds a standard question."""
    pairs = []
    for line, row in enumerate(_rows(path, [query_column, expected_column]), start=2):
        expected = row[expected_column].strip()
        if expected not in ids:
            raise BadRequest(f"{path}:{line}: expected question {expected!r} is not in the KB")
        pairs.append((row[query_column].strip(), ids[expected]))
    return pairs
