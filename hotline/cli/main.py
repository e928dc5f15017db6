"""``hotline``: serve, migrate, initialise, chat, manage users and look at tickets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click

from hotline.callbacks.cli import callbacks
from hotline.channels.open311.cli import open311
from hotline.classifier.cli import classifier
from hotline.cli.chat import chat
from hotline.cli.common import get_config, run_async
from hotline.cli.feedback import feedback_export
from hotline.cli.tickets import tickets
from hotline.cli.users import users
from hotline.config import Config
from hotline.errors import HotlineError
from hotline.knowledge.cli import kb
from hotline.nlu.cli import nlu
from hotline.observability import configure_logging
from hotline.routing.cli import routing
from hotline.routing.worker_cli import worker
from hotline.sample.loader import initialise
from hotline.storage.db import Database
from hotline.storage.migrate import current_revision, head_revision, upgrade
from hotline.web.server import serve as serve_app

log = logging.getLogger(__name__)


@click.group()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="config.yml to use",
)
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None) -> None:
    """The 12345 citizen hotline."""
    ctx.ensure_object(dict)["config_path"] = config_file


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), help="override server.port")
@click.option("--host", help="override server.host")
@click.pass_context
def serve(ctx: click.Context, port: int | None, host: str | None) -> None:
    """Serve the HTTP API and channels until SIGINT/SIGTERM (in-flight requests are drained)."""
    from hotline.services import build_services
    from hotline.web.app import create_app

    config = get_config(ctx)
    configure_logging(config.logging.level, config.logging.format)
    try:
        _check_schema(config.database_url)
        services = build_services(config)
    except HotlineError as e:
        raise click.ClickException(e.message) from e
    app = create_app(services)
    log.info("server.starting", extra={"database": services.database.dialect})
    asyncio.run(
        serve_app(
            app,
            host=host or config.server.host,
            port=port or config.server.port,
            shutdown_timeout=config.server.shutdown_timeout_seconds,
        )
    )


@run_async
async def _check_schema(url: str) -> None:
    database = Database(url)
    try:
        current = await current_revision(database)
    finally:
        await database.dispose()
    if current != head_revision():
        raise HotlineError(
            f"the database schema is at {current or 'nothing'}, not {head_revision()}: "
            "run 'hotline db upgrade'"
        )


@asynccontextmanager
async def migrated_database(config: Config) -> AsyncIterator[Database]:
    """The configured database, brought to the newest schema, closed afterwards."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(config.database_url)
    try:
        await upgrade(database, country_code=config.callbacks.country_code)
        yield database
    finally:
        await database.dispose()


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.pass_context
@run_async
async def db_upgrade(ctx: click.Context) -> None:
    """Apply all migrations (idempotent)."""
    async with migrated_database(get_config(ctx)) as database:
        click.echo(f"database at revision {await current_revision(database)} ({database.dialect})")


@cli.command()
@click.pass_context
@run_async
async def init(ctx: click.Context) -> None:
    """Migrate, then load sample units and staff users that are missing (idempotent)."""
    config = get_config(ctx)
    async with migrated_database(config) as database, database.session() as session:
        report = await initialise(session)
    click.echo(f"{report.units} units, {report.knowledge_entries} sample knowledge entries loaded")
    if report.new_users:
        _write_passwords(config.data_dir / "initial-passwords.txt", report.new_users)
        click.echo(
            f"new staff users; passwords written to {config.data_dir / 'initial-passwords.txt'}:"
        )
        for username, password in report.new_users.items():
            click.echo(f"  {username}: {password}")


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.touch(mode=0o600, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for username, password in passwords.items():
            handle.write(f"{username}\t{password}\n")


cli.add_command(chat)
cli.add_command(tickets)
cli.add_command(users)


classifier.add_command(feedback_export)
cli.add_command(classifier)
cli.add_command(nlu)
cli.add_command(kb)
cli.add_command(routing)
cli.add_command(open311)
cli.add_command(worker)
cli.add_command(callbacks)


def main() -> None:
    cli()
