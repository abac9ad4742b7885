"""Database engines: URLs, drivers and the transaction discipline of each backend.

``sqlite:///path`` and ``postgresql://...`` (the forms settings use) become
``sqlite+aiosqlite`` and ``postgresql+asyncpg``. SQLite files are created 0600 and run in WAL
mode with a busy timeout, and its write transactions start with ``BEGIN IMMEDIATE`` (``Database.write``): a deferred
transaction that reads and then writes can fail with SQLITE_BUSY under concurrency instead of
waiting. PostgreSQL runs at READ COMMITTED; the repository takes row locks where it must.
``AUTHSPEC_DATABASE_SCHEMA`` puts everything in one PostgreSQL schema (``search_path``). When
the database itself fails (unreachable, locked too long), transactions raise
``ServiceUnavailable`` (503) rather than an unexpected error (500).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from authspec.errors import ServiceUnavailable

log = logging.getLogger("authspec.storage")

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


class DatabaseUrlError(ValueError):
    """AUTHSPEC_DATABASE_URL names a database authspec cannot use."""


def async_url(database_url: str) -> URL:
    """The async-driver form of a settings URL (``sqlite:///x`` → ``sqlite+aiosqlite:///x``)."""
    try:
        url = make_url(database_url)
    except Exception as exc:
        raise DatabaseUrlError(f"AUTHSPEC_DATABASE_URL is not a database URL: {exc}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in _ASYNC_DRIVERS:
        raise DatabaseUrlError(f"AUTHSPEC_DATABASE_URL: unsupported database {backend!r} (use sqlite or postgresql)")
    target = _ASYNC_DRIVERS[backend]
    if driver and f"{backend}+{driver}" != target and url.drivername != target:
        raise DatabaseUrlError(f"AUTHSPEC_DATABASE_URL: driver {driver!r} is not supported; use {target}")
    return url.set(drivername=target)


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


class Database:
    """An async engine plus the way to open read and write transactions on it."""

    def __init__(self, database_url: str, *, schema: str | None = None, echo: bool = False) -> None:
        self.url = async_url(database_url)
        self.schema = schema
        self.dialect = "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"
        options: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if self.url.database in (None, "", ":memory:"):
                options.update(poolclass=StaticPool)
            else:
                path = Path(self.url.database).expanduser().resolve()
                path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(path)
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
            if schema:
                options["connect_args"] = {"server_settings": {"search_path": schema}}
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        if self.dialect == "sqlite":
            _sqlite_discipline(self.engine)
        self._writer = self.engine.execution_options(authspec_write=True)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read transaction. Each statement sees what was committed before it began (PostgreSQL's
        READ COMMITTED; SQLite's WAL snapshot lasts the transaction), but two statements on
        PostgreSQL may see different commits: a read whose parts must agree is one statement."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; on SQLite it holds the write lock from its first statement."""
        try:
            async with self._writer.begin() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise _unavailable(exc) from exc

    async def dispose(self) -> None:
        await self.engine.dispose()


#: Failures of the database itself (unreachable, locked past the busy timeout, connection lost),
#: as opposed to a statement's own failure: they answer 503 instead of 500.
_UNAVAILABLE = (OperationalError, InterfaceError, OSError, TimeoutError)


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    log.error("the database is unavailable", extra={"event": "storage.unavailable", "error": type(exc).__name__})
    return ServiceUnavailable("The database is unavailable; try again shortly")


def _create_private(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does; SQLite gives its -wal and -shm
    files the database file's mode, so all three hold the sessions away from other local users.
    An existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_discipline(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver: the "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("authspec_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
