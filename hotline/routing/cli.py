"""``hotline routing``: explain which rule routes a ticket, to which unit, and by when.

Both commands use the rules in force: the newest version saved through the staff API when the
configured database holds one, else the rules file.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from hotline.cli.common import get_config, run_async
from hotline.config import Config
from hotline.errors import HotlineError
from hotline.routing.calendar import CHINA_TZ
from hotline.routing.coverage import coverage
from hotline.routing.router import (
    Router,
    RoutingExplanation,
    RoutingSettings,
    build_router,
    settings_from,
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


def _show(explanation: RoutingExplanation, as_json: bool, source: str) -> None:
    if as_json:
        click.echo(json.dumps({**explanation.to_dict(), "rules": source}, ensure_ascii=False))
    else:
        click.echo(f"rules:       {source}")
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
    config = get_config(ctx)
    try:
        router = build_router(settings_from(config.routing))
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    if number is not None:
        _explain_ticket(config, router, number, as_json)
        return
    source = _rules_in_force(config, router)
    try:
        explanation = router.decide(
            subcategory_code=subcategory or "",
            urgency=urgency,
            created=_moment(at),
            address=address,
        )
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    _show(explanation, as_json, source)


def _stored_database(config: Config) -> Database | None:
    """The configured database, unless it is a SQLite file that does not exist (yet)."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None
    return Database(config.database_url)


async def _follow(router: Router, database: Database) -> str:
    """Put the newest stored rules in force, if the schema has them; describe the source."""
    live = router.live
    if live is None:
        return "rules file"
    async with database.read() as session:
        # A database not yet migrated to stored rules still routes by the file.
        stored = await session.run_sync(
            lambda s: inspect(s.connection()).has_table("routing_rule_set")
        )
    if stored:
        await live.refresh(database)
    if live.version:
        return f"stored version {live.version} (database)"
    return f"file {live.book.path} (no stored version)"


@run_async
async def _rules_in_force(config: Config, router: Router) -> str:
    database = _stored_database(config)
    if database is None:
        return f"file {router.live.book.path if router.live else ''} (no database)"
    try:
        return await _follow(router, database)
    finally:
        await database.dispose()


@run_async
async def _explain_ticket(config: Config, router: Router, number: str, as_json: bool) -> None:
    database = Database(config.database_url)
    try:
        source = await _follow(router, database)
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
    _show(explanation, as_json, source)
    if not as_json:
        held = f"{current.code} {current.name}" if current else "none (not dispatched)"
        click.echo(f"ticket unit: {held}")


_FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


@routing.command("check")
@click.option("--rules", "rules_path", type=_FILE, help="rules file (default: the shipped one)")
@click.option("--units", "units_path", type=_FILE, help="units file (default: the sample city)")
@click.option("--overrides", "overrides_path", type=_FILE, help="calendar override file")
@click.option("--geojson", "geojson_path", type=_FILE, help="area polygons (GeoJSON)")
@click.pass_context
def check(
    ctx: click.Context,
    rules_path: Path | None,
    units_path: Path | None,
    overrides_path: Path | None,
    geojson_path: Path | None,
) -> None:
    """Validate the routing files together, as start-up would; exit 1 naming the first error.

    Without --rules, the newest version stored through the staff API is checked too (it is the
    one in force), when the configured database has one.
    """
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
    if rules_path is None:
        click.echo(f"in force:    {_check_stored(ctx, router)}")
    report = coverage(router.rules, router.taxonomy)
    click.echo(
        f"coverage:    {report['covered']}/{report['subcategories']} subcategories; "
        f"{len(report['catch_all'])} left to a catch-all rule when the area is unknown"
    )


def _check_stored(ctx: click.Context, router: Router) -> str:
    try:
        config = get_config(ctx)
    except click.ClickException as e:
        return f"rules file; stored versions not checked ({e.message})"
    return f"{_rules_in_force(config, router)}: ok"
