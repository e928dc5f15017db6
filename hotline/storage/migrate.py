"""Schema migrations through Alembic, driven from code (``hotline db upgrade``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from hotline.phones import DEFAULT_COUNTRY
from hotline.storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> AlembicConfig:
    """An Alembic config pointing at the packaged migrations, no ini file needed."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(
    database: Database, revision: str = "head", *, country_code: str = DEFAULT_COUNTRY
) -> None:
    """Bring the schema to ``revision`` (idempotent); ``country_code`` is the configured one
    (``callbacks.country_code``), under which data migrations read national phone numbers."""

    def run(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        config.attributes["country_code"] = country_code
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""

    def read(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(read)


def head_revision() -> str:
    """The newest revision shipped with this version of hotline."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are packaged")
    return head
