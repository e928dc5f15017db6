"""``hotline callbacks``: satisfaction callbacks (回访) and the rates units are judged on."""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta

import click

from hotline.callbacks import reports
from hotline.classifier.taxonomy import load_taxonomy
from hotline.cli.common import get_config, run_async
from hotline.storage.db import Database
from hotline.storage.models import CallbackStatus
from hotline.storage.repos import callbacks as callback_repo
from hotline.storage.repos import units as unit_repo
from hotline.storage.types import utcnow


@click.group()
def callbacks() -> None:
    """Satisfaction callbacks (回访) after tickets are resolved."""


@callbacks.command("report")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
@click.option("--by", type=click.Choice(["unit", "category"]), default="unit", show_default=True)
@click.option("--unit", "unit_code", help="only this unit's figures")
@click.option("--json", "as_json", is_flag=True, help="one JSON object")
@click.pass_context
@run_async
async def report(
    ctx: click.Context, days: int, by: str, unit_code: str | None, as_json: bool
) -> None:
    """办结率 (closure) and 满意率 (satisfaction) per unit or category."""
    database = Database(get_config(ctx).database_url)
    taxonomy = load_taxonomy()
    until = utcnow()
    try:
        async with database.read() as session:
            unit_id = (await unit_repo.by_code(session, code=unit_code)).id if unit_code else None
            found = await reports.report(
                session,
                since=until - timedelta(days=days),
                until=until,
                by="unit" if by == "unit" else "category",
                unit_id=unit_id,
                category_name=lambda code: taxonomy.category(code).name,
            )
    finally:
        await database.dispose()
    if as_json:
        rows = [row.to_dict() for row in found.rows]
        click.echo(json.dumps({"days": days, "by": by, "rows": rows,
                               "total": found.total.to_dict()}, ensure_ascii=False))  # fmt: skip
        return
    headers = ("工单", "办结率", "按期率", "重办", "回访", "满意率", "接通率")
    click.echo(_pad("", 30) + "".join(_pad(h, 9, right=True) for h in headers))
    for row in [*found.rows, found.total]:
        r = row.rates
        cells = (
            str(row.tickets), _pct(r["closure"]), _pct(r["on_time"]), str(row.reopened),
            str(row.answered), _pct(r["satisfaction"]), _pct(r["contact"]),
        )  # fmt: skip
        click.echo(_pad(row.name, 30) + "".join(_pad(c, 9, right=True) for c in cells))


@callbacks.command("list")
@click.option("--status", type=click.Choice([s.value for s in CallbackStatus]), default="unreached")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
@click.pass_context
@run_async
async def list_callbacks(ctx: click.Context, status: str, limit: int) -> None:
    """Callbacks by status (default: unreached, the ones to call by hand), as JSON lines."""
    from hotline.web.callbacks_api import callback_view

    database = Database(get_config(ctx).database_url)
    where = callback_repo.CallbackFilter(status=CallbackStatus(status), limit=limit)
    try:
        async with database.read() as session:
            rows, total = await callback_repo.search(session, where=where)
    finally:
        await database.dispose()
    for callback, number in rows:
        click.echo(json.dumps(callback_view(callback, number), ensure_ascii=False))
    click.echo(f"{len(rows)} of {total}", err=True)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    """Pad to ``width`` terminal columns; Chinese characters take two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    while used > width:
        used -= 2 if unicodedata.east_asian_width(text[-1]) in "WF" else 1
        text = text[:-1]
    fill = " " * (width - used)
    return fill + text if right else text + fill


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
