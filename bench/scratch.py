"""Scratch PostgreSQL databases for the benchmarks that need one of their own."""

from __future__ import annotations

from sqlalchemy.engine import make_url


async def admin(url: str, statement: str) -> None:
    """Run SQL (CREATE / DROP DATABASE, a seeding script) on ``url``'s database outside any
    transaction, on a connection of its own without a statement timeout."""
    import asyncpg

    connection = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
