"""Reading labelled CSV files, correction files and label mappings for the classifier CLI.

Every problem becomes a ``click.BadParameter``/``UsageError`` naming the file and the fix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import yaml


def _rows(path: Path, option: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise click.BadParameter(f"cannot read {path}: {e}", param_hint=option) from e
    return columns, rows


def read_labelled_csv(
    path: Path, text_column: str, label_column: str
) -> tuple[list[str], list[str]]:
    """Texts and labels; rows with an empty text or label are left out."""
    columns, rows = _rows(path, "--data")
    for option, column in (("--text-column", text_column), ("--label-column", label_column)):
        if column not in columns:
            raise click.BadParameter(
                f"{path} has no column {column!r}; columns are {', '.join(columns) or '(none)'}",
                param_hint=option,
            )
    pairs = [
        (row[text_column].strip(), row[label_column].strip())
        for row in rows
        if (row.get(text_column) or "").strip() and (row.get(label_column) or "").strip()
    ]
    if not pairs:
        raise click.UsageError(f"{path}: no row has both a {text_column} and a {label_column}")
    return [text for text, _ in pairs], [label for _, label in pairs]


def read_feedback(path: Path) -> list[tuple[str, str]]:
    """Agents' corrections from a CSV with ``text`` and ``subcategory`` columns."""
    columns, rows = _rows(path, "--feedback")
    if not {"text", "subcategory"} <= set(columns):
        raise click.BadParameter(
            f"{path} needs the columns text,subcategory; it has {', '.join(columns) or '(none)'}",
            param_hint="--feedback",
        )
    return [
        (row["text"].strip(), row["subcategory"].strip())
        for row in rows
        if (row.get("text") or "").strip() and (row.get("subcategory") or "").strip()
    ]


def read_mapping(path: Path) -> dict[str, str]:
    """A YAML mapping from category/subcategory codes to external label names."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise click.BadParameter(f"cannot read {path}: {e}", param_hint="--map") from e
    if not isinstance(document, dict) or not document:
        raise click.BadParameter(
            f'{path} must be a non-empty mapping like {{"01": 教育, "0302": 治安}}',
            param_hint="--map",
        )
    mapping = {}
    for code, label in document.items():
        if not isinstance(code, str):
            # YAML reads an unquoted 0101 as the octal number 65: codes must be quoted
            raise click.BadParameter(
                f'{path}: quote every code, e.g. "0101" (got {code!r})', param_hint="--map"
            )
        if not isinstance(label, str) or not label.strip():
            raise click.BadParameter(
                f"{path}: code {code!r} maps to {label!r}, not a label name", param_hint="--map"
            )
        mapping[code.strip()] = label.strip()
    return mapping
