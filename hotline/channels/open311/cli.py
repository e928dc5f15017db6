"""``hotline open311``: API keys for Open311 clients."""

from __future__ import annotations

import click

from hotline.channels.open311 import keys
from hotline.cli.common import get_config, run_async
from hotline.storage.db import Database


@click.group()
def open311() -> None:
    """Open311 GeoReport v2."""


@open311.group("keys")
def keys_group() -> None:
    """API keys of the partner apps that post service requests."""


@keys_group.command("add")
@click.argument("name")
@click.pass_context
@run_async
async def add_key(ctx: click.Context, name: str) -> None:
    """Create a key for client NAME and print it once; only its hash is stored."""
    database = Database(get_config(ctx).database_url)
    try:
        _, key = await keys.add_key(database, name)
    finally:
        await database.dispose()
    click.echo(key)
    click.echo(f"key for {name} created; it is not shown again", err=True)


@keys_group.command("list")
@click.pass_context
@run_async
async def list_keys(ctx: click.Context) -> None:
    """Every key's client name, creation time and whether it is revoked (never the key)."""
    database = Database(get_config(ctx).database_url)
    try:
        rows = await keys.list_keys(database)
    finally:
        await database.dispose()
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        click.echo(f"{row.name}  {row.created_at:%Y-%m-%d %H:%M}Z  {state}")
    click.echo(f"{len(rows)} keys")


@keys_group.command("revoke")
@click.argument("name")
@click.pass_context
@run_async
async def revoke_key(ctx: click.Context, name: str) -> None:
    """Revoke client NAME's key at once; its requests are refused from now on."""
    database = Database(get_config(ctx).database_url)
    try:
        await keys.revoke_key(database, name)
    finally:
        await database.dispose()
    click.echo(f"key for {name} revoked")
