"""``hotline kb eval``: measure retrieval on labelled colloquial queries."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from hotline.encoders.base import Encoder
from hotline.errors import BadRequest
from hotline.knowledge.retrieval.datasets import (
    read_knowledge_csv,
    read_queries_csv,
)
from hotline.knowledge.retrieval.evaluate import evaluate
from hotline.knowledge.retrieval.index import HybridIndex

logger = logging.getLogger(__name__)


def default_encoder() -> Encoder:
    """The offline encoder the service uses by default."""
    from hotline.encoders.use_onnx import UseMultilingualOnnxEncoder

    return UseMultilingualOnnxEncoder()


@click.group("kb")
def kb() -> None:
    """Knowledge-base retrieval commands."""


@kb.command("eval")
@click.option("--data", "data", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--query-column", default="query", show_default=True)
@click.option("--expected-column", default="expected_question", show_default=True)
@click.option("--kb", "kb_csv", type=click.Path(exists=True, path_type=Path), default=None)
@click.option("--question-column", default="用户问题", show_default=True)
@click.option("--answer-column", default=None, help="Answer text: weak ranking evidence.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON line last.")
def eval_command(
    data: Path,
    query_column: str,
    expected_column: str,
    kb_csv: Path | None,
    question_column: str,
    answer_column: str | None,
    index_dir: Path | None,
    as_json: bool,
) -> None:
    """Recall@1/3, MRR and latency of the index on DATA (expected = standard question text).

    The index is built from --kb (one entry per distinct question) or loaded from --index.
    """
    if (kb_csv is None) == (index_dir is None):
        raise click.UsageError("give exactly one of --kb FILE.csv or --index DIR")
    try:
        index, ids = _index_for(kb_csv, question_column, answer_column, index_dir)
        queries = read_queries_csv(
            data, query_column=query_column, expected_column=expected_column, ids=ids
        )
    except BadRequest as e:
        raise click.ClickException(e.message) from e
    report = evaluate(index, queries)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    click.echo(f"n={report.n}")
    click.echo(f"recall@1={report.recall_at_1:.3f} recall@3={report.recall_at_3:.3f}")
    click.echo(f"mrr={report.mrr:.3f} p50={report.p50_ms:.1f}ms p99={report.p99_ms:.1f}ms")


def _index_for(
    kb_csv: Path | None, question_column: str, answer_column: str | None, index_dir: Path | None
) -> tuple[HybridIndex, dict[str, int]]:
    """Build from the CSV or load the saved index; also map standard questions to entry ids."""
    encoder = default_encoder()
    if kb_csv is not None:
        docs, ids = read_knowledge_csv(
            kb_csv, question_column=question_column, answer_column=answer_column
        )
        return HybridIndex.build(docs, encoder=encoder), ids
    assert index_dir is not None
    index = HybridIndex.load(index_dir, encoder=encoder)
    return index, {index.get(e).questions[0]: e for e in sorted(index.state.docs)}
