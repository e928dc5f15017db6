"""``hotline kb``: import, export, reindex, load the sample, list gaps, expire, evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hotline.cli.common import get_config, run_async
from hotline.errors import NotFound
from hotline.knowledge import io
from hotline.knowledge.gaps import gap_view
from hotline.knowledge.retrieval.cli import default_encoder, eval_command
from hotline.knowledge.sync import KnowledgeIndex, index_directory
from hotline.knowledge.workflow import expire_due
from hotline.storage.db import Database
from hotline.storage.models import GapStatus, StaffUser
from hotline.storage.repos import knowledge as repo
from hotline.storage.repos import staff

FORMAT = click.Choice(["csv", "xlsx", "json", "rasa"])


@click.group("kb")
def kb() -> None:
    """The knowledge base (知识库)."""


kb.add_command(eval_command)


async def _author(database: Database, username: str) -> StaffUser:
    async with database.session() as session:
        user = await staff.by_username(session, username=username)
    if user is None:
        raise NotFound(f"staff user {username} does not exist; see 'hotline users'")
    return user


@kb.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMAT, help="default: from the file extension")
@click.option("--question-column", default="question", show_default=True)
@click.option("--answer-column", default="answer", show_default=True)
@click.option("--department-column", help="responsible unit code")
@click.option("--similar-column", help="similar questions, separated by | or newlines")
@click.option("--spoken-column", help="short spoken answer for the phone")
@click.option("--publish", is_flag=True, help="publish at once (bypasses review)")
@click.option("--skip-bad", is_flag=True, help="import the good rows even if some are bad")
@click.option("--author", default="admin", show_default=True, help="staff user recorded as author")
@click.pass_context
@run_async
async def import_command(
    ctx: click.Context,
    file: Path,
    fmt: str | None,
    question_column: str,
    answer_column: str,
    department_column: str | None,
    similar_column: str | None,
    spoken_column: str | None,
    publish: bool,
    skip_bad: bool,
    author: str,
) -> None:
    """Import entries from FILE; all-or-nothing unless --skip-bad."""
    fmt = io.guess_format(file, fmt)
    columns = io.Columns(
        question_column, answer_column, department_column, similar_column, spoken_column
    )
    database = Database(get_config(ctx).database_url)
    try:
        user = await _author(database, author)
        rows = io.read_rows(file, fmt)
        async with database.session() as session:
            report = await io.import_entries(
                session,
                rows,
                columns=columns,
                author_id=user.id or 0,
                actor=f"import:{user.username}",
                publish_now=publish,
                skip_bad=skip_bad,
            )
    finally:
        await database.dispose()
    for problem in report.problems:
        click.echo(f"skipped line {problem.line}: {problem.reason}", err=True)
    state = "published" if publish else "drafts"
    click.echo(f"{len(report.imported)} entries imported as {state}")


@kb.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]))
@click.pass_context
@run_async
async def export_command(ctx: click.Context, file: Path, fmt: str | None) -> None:
    """Write every entry (working copy, status, version) to FILE."""
    fmt = io.guess_format(file, fmt)
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            rows = io.export_rows(await repo.all_entries(session))
    finally:
        await database.dispose()
    io.write_export(rows, file, fmt)
    click.echo(f"{len(rows)} entries written to {file}")


@kb.command("reindex")
@click.pass_context
@run_async
async def reindex_command(ctx: click.Context) -> None:
    """Rebuild the persisted search index from the published entries."""
    config = get_config(ctx)
    database = Database(config.database_url)
    index = KnowledgeIndex(database, default_encoder(), index_directory(config.data_dir))
    try:
        await index.rebuild()
        version = await index.save()
    finally:
        await database.dispose()
    click.echo(f"index rebuilt: {len(index.index)} entries, seq {index.applied_seq}, v{version}")


@kb.command("load-sample")
@click.option("--author", default="admin", show_default=True)
@click.pass_context
@run_async
async def load_sample_command(ctx: click.Context, author: str) -> None:
    """Publish the sample knowledge of 临江市 (idempotent)."""
    database = Database(get_config(ctx).database_url)
    try:
        user = await _author(database, author)
        async with database.session() as session:
            created = await io.load_sample_knowledge(session, author_id=user.id or 0)
    finally:
        await database.dispose()
    click.echo(f"{created} sample entries published")


@kb.command("gaps")
@click.option("--status", type=click.Choice(["open", "handled", "all"]), default="open")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@run_async
async def gaps_command(ctx: click.Context, status: str, limit: int, as_json: bool) -> None:
    """Questions the knowledge base could not answer, most frequent first."""
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            rows = await repo.gaps_by_frequency(
                session, status=None if status == "all" else GapStatus(status), limit=limit
            )
    finally:
        await database.dispose()
    for gap in rows:
        view = gap_view(gap)
        line = json.dumps(view, ensure_ascii=False)
        click.echo(
            line if as_json else f"{gap.id}\t{gap.count}\t{gap.status}\t{gap.representative}"
        )


@kb.command("expire")
@click.pass_context
@run_async
async def expire_command(ctx: click.Context) -> None:
    """Retire every published entry whose valid_to has passed (run it daily from cron)."""
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            expired = await expire_due(session)
    finally:
        await database.dispose()
    click.echo(f"{len(expired)} entries expired" + (f": {expired}" if expired else ""))
