"""Agents' classification corrections, taken from the database for the next training."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from hotline.cli.common import get_config, run_async
from hotline.config import Config
from hotline.storage.db import Database
from hotline.storage.repos import tickets as ticket_repo


async def corrections_from_database(config: Config) -> list[tuple[str, str]]:
    """(ticket text, subcategory chosen by an agent), the latest choice per ticket."""
    database = Database(config.database_url)
    try:
        async with database.read() as session:
            rows = await ticket_repo.feedback_since(session)
    finally:
        await database.dispose()
    latest = {row.ticket_id: (row.text, row.subcategory_code) for row in rows}
    return list(latest.values())


@click.command("feedback-export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
@run_async
async def feedback_export(ctx: click.Context, out: Path) -> None:
    """Write agents' corrections as CSV (text,subcategory) for `classifier train --feedback`."""
    corrections = await corrections_from_database(get_config(ctx))
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "subcategory"])
        writer.writerows(corrections)
    click.echo(f"{len(corrections)} corrections written to {out}")
