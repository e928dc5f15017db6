"""``hotline routing``: explain which rule routes a ticket, to which unit, and by when."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from hotline.cli.common import get_config, run_async
from hotline.errors import HotlineError
from hotline.routing.calendar import CHINA_TZ
from hotline.routing.router import (
    Router,
    RoutingExplanation,
    RoutingSettings,
    build_router,
    unit_id_of,
)
from hotline.storage.db import Database
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units as unit_repo


@click.group()
def routing() -> None:
    """Routing rules, areas and deadlines (派单与时限)."""


def _moment(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO date-time", param_hint="--at") from exc
    # A time without an offset is 临江 local time, as a citizen or agent would say it.
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def _local(moment: dt.datetime) -> str:
    return f"{moment.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}"


def _echo(explanation: RoutingExplanation) -> None:
    sub, area, rule = explanation.subcategory, explanation.area, explanation.rule
    click.echo(f"subcategory: {sub.code} {sub.name} (urgency {explanation.urgency.value})")
    click.echo(f"area:        {area.describe()} [level {area.level}, source {area.source}]")
    click.echo(f"rule:        {rule.label} (priority {rule.priority})")
    for skipped in explanation.skipped:
        click.echo(f"  skipped:   {skipped}")
    click.echo(
        f"unit:        {explanation.unit.code} {explanation.unit.name} via {explanation.via}"
    )
    deadline = explanation.deadline
    if deadline is None:
        click.echo(f"due:         not computed: {explanation.deadline_note}")
        return
    click.echo(
        f"due:         {_local(deadline.due)} ({deadline.basis}, counted from "
        f"{_local(deadline.start)}); warning at {_local(deadline.warning)}"
    )
    if deadline.provisional_notice:
        click.echo(f"             {deadline.provisional_notice}")


def _show(explanation: RoutingExplanation, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(explanation.to_dict(), ensure_ascii=False))
    else:
        _echo(explanation)


@routing.command("explain")
@click.argument("number", required=False)
@click.option("--subcategory", help="subcategory code, when explaining without a ticket")
@click.option("--address", help="address text, when explaining without a ticket")
@click.option("--urgency", type=click.Choice(["normal", "urgent", "critical"]), default="normal")
@click.option("--at", "at", help="creation time, ISO 8601 (local time when no offset); now")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.pass_context
def explain(
    ctx: click.Context,
    number: str | None,
    subcategory: str | None,
    address: str | None,
    urgency: str,
    at: str | None,
    as_json: bool,
) -> None:
    """Explain the routing of ticket NUMBER, or of --subcategory CODE --address TEXT."""
    if (number is None) == (subcategory is None):
        raise click.UsageError("give either a ticket NUMBER or --subcategory CODE")
    try:
        router = build_router()
        if number is None:
            explanation = router.decide(
                subcategory_code=subcategory or "",
                urgency=urgency,
                created=_moment(at),
                address=address,
            )
            _show(explanation, as_json)
            return
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    _explain_ticket(ctx, router, number, as_json)


@run_async
async def _explain_ticket(ctx: click.Context, router: Router, number: str, as_json: bool) -> None:
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            ticket = await ticket_repo.by_number(session, number=number)
            explanation = router.explain_ticket(ticket)
            if explanation is not None:
                await unit_id_of(session, explanation)  # the unit must exist in this database
            current = (
                await unit_repo.get(session, unit_id=ticket.unit_id) if ticket.unit_id else None
            )
    finally:
        await database.dispose()
    if explanation is None:
        click.echo(f"ticket {number} is not classified: it waits for agent triage")
        return
    _show(explanation, as_json)
    if not as_json:
        held = f"{current.code} {current.name}" if current else "none (not dispatched)"
        click.echo(f"ticket unit: {held}")


_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


@routing.command("check")
@click.option("--rules", "rules_path", type=_FILE, help="rules file (default: the shipped one)")
@click.option("--units", "units_path", type=_FILE, help="units file (default: the sample city)")
@click.option("--overrides", "overrides_path", type=_FILE, help="calendar override file")
@click.option("--geojson", "geojson_path", type=_FILE, help="area polygons (GeoJSON)")
def check(
    rules_path: Path | None,
    units_path: Path | None,
    overrides_path: Path | None,
    geojson_path: Path | None,
) -> None:
    """Validate the routing files together, as start-up would; exit 1 naming the first error."""
    settings = RoutingSettings(
        rules_path=rules_path,
        units_path=units_path,
        calendar_overrides_path=overrides_path,
        areas_geojson_path=geojson_path,
    )
    try:
        router = build_router(settings)
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    years = sorted(router.deadlines.calendar.overrides.years)
    click.echo(
        f"{len(router.rules.rules)} rules, {len(router.rules.directory.units)} units, "
        f"calendar override years {years or 'none'}: ok"
    )
