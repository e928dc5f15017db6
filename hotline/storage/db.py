"""Async engines for SQLite (embedded default) and PostgreSQL (production), and transactions."""

from __future__ import annotations

import asyncio
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
#: how long a write waits for its turn on SQLite before the caller gets 503 (the busy timeout)
WRITER_TURN_SECONDS = 10.0


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
        self._sqlite = url.startswith("sqlite")
        self._turn: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
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
        async with self._writer_turn():
            try:
                async with self._sessions() as session, session.begin():
                    yield session
            except Exception as e:
                if is_unavailable(e):
                    raise StorageUnavailable(
                        "the database is unavailable; nothing was stored"
                    ) from e
                raise

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns before they take a connection.

        SQLite has one writer at a time. Without the turn, every concurrent request held a
        pooled connection while its ``BEGIN IMMEDIATE`` waited for the lock; once they held the
        whole pool, the writer holding the lock could not get the connection its own read
        needs (a knowledge lookup), and all of them failed after the busy timeout
        (``bench/intake_load.py --sqlite`` showed it at 16 concurrent citizens). Other
        processes (a CLI command) still meet the busy timeout. PostgreSQL needs no turn.
        """
        if not self._sqlite:
            yield
            return
        loop = asyncio.get_running_loop()
        if self._turn is None or self._turn[0] is not loop:
            self._turn = (loop, asyncio.Lock())
        lock = self._turn[1]
        try:
            await asyncio.wait_for(lock.acquire(), WRITER_TURN_SECONDS)
        except TimeoutError as e:
            raise StorageUnavailable("the database is busy; nothing was stored") from e
        try:
            yield
        finally:
            lock.release()

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
