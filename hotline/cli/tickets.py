"""``hotline tickets``: look at tickets from the terminal."""

from __future__ import annotations

import json

import click

from hotline.cli.common import get_config, run_async
from hotline.storage.db import Database
from hotline.storage.models import TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.web.staff_views import event_view, ticket_detail, ticket_summary


@click.group()
def tickets() -> None:
    """Tickets (工单)."""


@tickets.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in TicketStatus] + ["all"]), default="all"
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50)
@click.pass_context
@run_async
async def list_tickets(ctx: click.Context, status: str, limit: int) -> None:
    """List tickets, oldest first; contact phones are masked."""
    database = Database(get_config(ctx).database_url)
    where = ticket_repo.TicketFilter(
        status=None if status == "all" else TicketStatus(status), limit=limit
    )
    try:
        async with database.session() as session:
            rows, total = await ticket_repo.search(session, where=where)
    finally:
        await database.dispose()
    for ticket in rows:
        row = ticket_summary(ticket)
        click.echo(
            f"{row['number']}  {row['status_label']:<10}  {row['created_at'][:16]}  {row['title']}"
        )
    click.echo(f"{len(rows)} of {total} tickets")


@tickets.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.pass_context
@run_async
async def show_ticket(ctx: click.Context, number: str, as_json: bool) -> None:
    """One ticket with its history."""
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            ticket = await ticket_repo.by_number(session, number=number)
            events = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    finally:
        await database.dispose()
    detail, history = ticket_detail(ticket), [event_view(e) for e in events]
    if as_json:
        click.echo(json.dumps({"ticket": detail, "history": history}, ensure_ascii=False))
        return
    for key, value in detail.items():
        click.echo(f"{key:>16}: {value}")
    click.echo("history:")
    for event in history:
        change = f"{event['from'] or ''}→{event['to'] or ''}"
        note = event["note"] or ""
        click.echo(f"  {event['at'][:19]} {event['actor']} {event['action']} {change} {note}")
