"""Alembic environment: runs on the connection ``hotline.storage.migrate`` hands it."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import hotline.storage.models  # noqa: F401  (registers every table on the metadata)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run 'hotline db upgrade'")
run_migrations_online()
