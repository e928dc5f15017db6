"""Async engines for SQLite (embedded default) and PostgreSQL (production), and transactions."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from hotline.errors import StorageUnavailable

log = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Autocommit at the driver level so SQLAlchemy's "begin" hook below decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before we acknowledge it, even across a power cut.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY = "hotline_read_only"


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    # writer got in between; taking the write lock up front makes writers queue instead.
    # Read-only sessions begin deferred: under WAL they never wait for a writer, so a read
    # made while this process holds the write lock (a lookup inside the intake) cannot
    # deadlock against it.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means the database cannot be reached (as opposed to a bad query)."""
    if isinstance(error, (OperationalError, InterfaceError, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # A name that does not resolve; other OSErrors (a full disk, say) are not "database down".
    return isinstance(error, socket.gaierror)


class Database:
    """The engine plus a session factory; one per process, created in ``main()``."""

    def __init__(self, url: str, *, pool_size: int = 5, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        #: PostgreSQL: a small pool of its own for counters taken in a transaction of their own
        #: (ticket numbers), so a row lock is held for one statement, not a whole intake; apart
        #: from the main pool so a session waiting for it never holds what it waits for.
        #: None on SQLite, whose single writer holds the database's lock anyway.
        self.counters: AsyncEngine | None = (
            None if url.startswith("sqlite") else create_engine(url, pool_size=1, echo=echo)
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on any error."""
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except Exception as e:
            if is_unavailable(e):
                raise StorageUnavailable("the database is unavailable; nothing was stored") from e
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: it never waits for writers (nor makes them wait)."""
        try:
            async with self._readers() as session, session.begin():
                yield session
                # Nothing a reader does may be written: fail loudly instead of committing.
                if session.new or session.dirty or session.deleted:
                    raise RuntimeError("a read-only session was given changes to write")
        except Exception as e:
            if is_unavailable(e):
                raise StorageUnavailable("the database is unavailable") from e
            raise

    async def ping(self) -> None:
        """Raise :class:`StorageUnavailable` unless a trivial query succeeds."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.counters is not None:
            await self.counters.dispose()
