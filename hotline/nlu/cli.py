"""``hotline nlu``: run the NLU on a text or a CSV column and print what it found."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import click

from hotline.errors import HotlineError
from hotline.nlu.analyzer import Analysis, Analyzer
from hotline.nlu.tokenizer import import_jieba

__all__ = ["nlu"]


@click.group()
def nlu() -> None:
    """Chinese text understanding: normalisation, entities, request type, emergencies."""


def _read_column(path: Path, column: str) -> list[str]:
    """All values of ``column`` in a UTF-8 CSV (an Excel BOM is accepted)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or column not in reader.fieldnames:
                found = ", ".join(reader.fieldnames or []) or "none"
                raise click.BadParameter(
                    f"column {column!r} is not in {path} (columns: {found})",
                    param_hint="--text-column",
                )
            return [row[column] or "" for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--data") from exc


def _readable(number: int, analysis: Analysis) -> Iterator[str]:
    yield (
        f"[{number}] {analysis.request_type.value} · {analysis.sentiment.value} · "
        f"{analysis.urgency.value} · emergency {analysis.emergency.value}"
        + (f" ({analysis.emergency_reason})" if analysis.emergency_reason else "")
    )
    yield f"  masked: {analysis.masked}"
    yield f"  tokens: {' / '.join(analysis.tokens)}"
    for entity in analysis.entities:
        yield f"  {entity.kind:<9} {entity.text} → {entity.value} [{entity.start}:{entity.end}]"
    if analysis.place:
        yield f"  place: {analysis.place}"


@nlu.command()
@click.option("--text", "text", help="one message to analyse")
@click.option(
    "--data",
    "data",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file with one message per row",
)
@click.option("--text-column", default="text", show_default=True, help="CSV column with the text")
@click.option(
    "--gazetteer",
    type=click.Path(path_type=Path, dir_okay=False),
    help="gazetteer YAML (default: the bundled 临江市 one)",
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per input line")
def analyze(
    text: str | None, data: Path | None, text_column: str, gazetteer: Path | None, as_json: bool
) -> None:
    """Analyse --text T, or every row of --data FILE.csv --text-column C."""
    if (text is None) == (data is None):
        raise click.UsageError("give exactly one of --text or --data")
    texts = _read_column(data, text_column) if data is not None else [text or ""]
    # jieba announces its dictionary loading on stderr at DEBUG level; a CLI run does not need it.
    import_jieba().setLogLevel(logging.WARNING)
    try:
        analyzer = Analyzer(gazetteer_path=gazetteer)
    except HotlineError as exc:
        raise click.BadParameter(exc.message, param_hint="--gazetteer") from exc
    for number, message in enumerate(texts, start=1):
        analysis = analyzer.analyze(message)
        if as_json:
            click.echo(json.dumps(analysis.to_dict(), ensure_ascii=False))
        else:
            click.echo("\n".join(_readable(number, analysis)))
