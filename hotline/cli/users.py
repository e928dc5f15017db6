"""``hotline users``: staff accounts."""

from __future__ import annotations

import click

from hotline.auth import MIN_PASSWORD_LENGTH, hash_password
from hotline.cli.common import get_config, run_async
from hotline.errors import ValidationFailed
from hotline.storage.db import Database
from hotline.storage.models import Role
from hotline.storage.repos import staff, units


@click.group()
def users() -> None:
    """Staff users."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", "display_name", help="display name (defaults to the username)")
@click.option("--unit", "unit_code", help="unit code, required for the unit role")
@click.password_option(help="password (prompted when not given)")
@click.pass_context
@run_async
async def add_user(
    ctx: click.Context,
    username: str,
    role: str,
    display_name: str | None,
    unit_code: str | None,
    password: str,
) -> None:
    """Create a staff user with a hashed password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if role == Role.UNIT and not unit_code:
        raise ValidationFailed("--unit is required for the unit role")
    database = Database(get_config(ctx).database_url)
    try:
        async with database.session() as session:
            unit_id = (await units.by_code(session, code=unit_code)).id if unit_code else None
            user = await staff.create(
                session,
                username=username,
                display_name=display_name or username,
                password_hash=hash_password(password),
                role=Role(role),
                unit_id=unit_id,
            )
    finally:
        await database.dispose()
    click.echo(f"created {user.role} user {user.username} (id {user.id})")
