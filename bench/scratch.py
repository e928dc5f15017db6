"""Scratch PostgreSQL databases for the benchmarks that need one of their own."""

from __future__ import annotations

from sqlalchemy.engine import make_url


async def admin(url: str, statement: str) -> None:
    """Run one statement (CREATE / DROP DATABASE) outside a transaction on ``url``'s server."""
    import asyncpg

    connection = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
