"""Database engines: URLs, drivers and the transaction discipline of each backend.

``sqlite:///path`` and ``postgresql://...`` (the forms settings use) name SQLite, run on the event
loop by ``authspec.storage.sqlite`` (one connection, no thread hop, in-process writers queued on a
lock, another process's write lock waited out with async pauses, up to ``SQLITE_BUSY_SECONDS``),
and ``postgresql+asyncpg``. SQLite files are created 0600 and run in WAL mode. ``read()`` runs
single statements without BEGIN/COMMIT on both backends; ``write()`` is one transaction (SQLite's
``BEGIN IMMEDIATE``; PostgreSQL at READ COMMITTED, the repository takes row locks where it must).
``AUTHSPEC_DATABASE_SCHEMA`` puts everything in one PostgreSQL schema (``search_path``). When
the database itself fails (unreachable, locked too long, a statement past its timeout, no
connection free in the pool in time), transactions raise ``ServiceUnavailable`` (503) rather than
an unexpected error (500). On PostgreSQL every wait is bounded (``Database.from_settings``):
getting a connection (connecting, or waiting for a free one) by
``AUTHSPEC_DATABASE_CONNECT_TIMEOUT``, so a request to a blackholed database answers 503 within
that time; each statement by ``AUTHSPEC_DATABASE_STATEMENT_TIMEOUT``, server-side
(``statement_timeout``) and client-side (asyncpg's ``command_timeout``: an answer that never
comes). Pooled connections are not pinged before use: they are recycled after ``pool_recycle``
seconds, and a first statement that finds its connection dead runs once more on a new one.
Migrations run on a ``for_migrations`` copy without the statement timeout: an index build, or the
wait for another instance's migration, may rightly take longer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy.engine import URL, CursorResult, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.base import Executable

from authspec.errors import ServiceUnavailable
from authspec.storage.sqlite import Conn, LoopConnection, T

if TYPE_CHECKING:
    from authspec.settings import Settings

log = logging.getLogger("authspec.storage")

#: How long a write waits for another process's write lock on SQLite before the database is unavailable.
SQLITE_BUSY_SECONDS = 30.0

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
    """The way to open read and write transactions on the service's database (see the module)."""

    def __init__(
        self,
        database_url: str,
        *,
        schema: str | None = None,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 10,
        connect_timeout: float = 5.0,
        statement_timeout: float | None = 5.0,
        pool_recycle: float = 300.0,
    ) -> None:
        self.url = async_url(database_url)
        self.schema = schema
        self.dialect = "sqlite" if self.url.drivername.startswith("sqlite") else "postgresql"
        self.echo = echo
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._late_closes: set[asyncio.Future[None]] = set()
        #: Called with ``"database"`` each time the database is found unavailable (the metrics).
        self.on_unavailable: Callable[[str], None] | None = None
        self._engine: AsyncEngine | None = None
        self._sqlite: LoopConnection | None = None
        if self.dialect == "sqlite":
            if self.url.database not in (None, "", ":memory:"):
                path = Path(self.url.database).expanduser().resolve()
                path.parent.mkdir(parents=True, exist_ok=True)
                _create_private(path)
            self._sqlite = LoopConnection(self.url, busy_seconds=SQLITE_BUSY_SECONDS, echo=echo)
            return
        server_settings: dict[str, str] = {}
        connect_args: dict[str, Any] = {"timeout": connect_timeout, "server_settings": server_settings}
        if schema:
            server_settings["search_path"] = schema
        if statement_timeout is not None:
            # The server cancels a statement past it; the client stops waiting for an answer that
            # never comes (a blackholed connection) at the same bound. Either way: 503.
            server_settings["statement_timeout"] = str(int(statement_timeout * 1000))
            connect_args["command_timeout"] = statement_timeout
        self._engine = create_async_engine(
            self.url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=connect_timeout,
            pool_recycle=pool_recycle,
            connect_args=connect_args,
        )
        # Reads are single statements: no BEGIN/COMMIT round trips (the driver's autocommit).
        self._reader = self._engine.execution_options(isolation_level="AUTOCOMMIT")

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The service's database: URL, schema, pool and timeouts as ``settings`` give them."""
        return cls(
            settings.database_url,
            schema=settings.database_schema,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            connect_timeout=settings.database_connect_timeout,
            statement_timeout=settings.database_statement_timeout,
        )

    def for_migrations(self) -> Database:
        """A one-connection copy without a statement timeout, for migrations (self on in-memory SQLite,
        whose data lives in this object's one connection)."""
        if self.dialect == "sqlite" and self.url.database in (None, "", ":memory:"):
            return self
        return Database(
            self.url.render_as_string(hide_password=False),
            schema=self.schema,
            echo=self.echo,
            pool_size=1,
            max_overflow=0,
            connect_timeout=self.connect_timeout,
            statement_timeout=None,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def engine(self) -> AsyncEngine:
        """PostgreSQL's async engine (the purge's advisory lock holds one of its connections)."""
        if self._engine is None:
            raise TypeError("a SQLite Database has no async engine: use read(), write() or connect()")
        return self._engine

    @property
    def sync_engine(self) -> Engine:
        """The engine whose events see every statement (SQLite's own; PostgreSQL's sync facade)."""
        if self._sqlite is not None:
            return self._sqlite.engine
        return self.engine.sync_engine

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Conn]:
        """A connection for checks and administration: no transaction, errors as the driver raises them."""
        if self._sqlite is not None:
            async with self._sqlite.read() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            yield _AsyncConn(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        """A read. Each statement sees what was committed before it began, and runs on its own (no
        BEGIN on either backend): a read whose parts must agree is one statement."""
        try:
            if self._sqlite is not None:
                async with self._sqlite.read() as conn:
                    yield conn
            else:
                async with self._pg_transaction(self._reader) as conn:
                    yield conn
        except (*_UNAVAILABLE, DBAPIError) as exc:
            if not _is_unavailable(exc):
                raise
            if self.on_unavailable is not None:
                self.on_unavailable("database")
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """A write transaction; on SQLite it holds the write lock from its start (``BEGIN IMMEDIATE``)."""
        try:
            if self._sqlite is not None:
                async with self._sqlite.write() as conn:
                    yield conn
            else:
                async with self._pg_transaction(self.engine) as conn:
                    yield conn
        except (*_UNAVAILABLE, DBAPIError) as exc:
            if not _is_unavailable(exc):
                raise
            if self.on_unavailable is not None:
                self.on_unavailable("database")
            raise _unavailable(exc) from exc

    @asynccontextmanager
    async def _pg_transaction(self, engine: AsyncEngine) -> AsyncIterator[Conn]:
        """A transaction on a pooled connection, got within the connect timeout (TimeoutError past it).
        A pooled connection found dead by the first statement (the server restarted, a recycled
        proxy) is replaced once and that statement run again: nothing had happened on it yet."""
        conn = _AsyncConn(await self._connect(engine), lambda: self._connect(engine))
        try:
            yield conn
            await conn.connection.commit()
        finally:
            await conn.connection.close()

    async def _connect(self, engine: AsyncEngine) -> AsyncConnection:
        conn = engine.connect()
        pool: Any = engine.sync_engine.pool
        if pool.checkedin() > 0:
            # An idle pooled connection: taken without I/O (no pre-ping), so without the task below.
            # (Past ``pool_recycle`` it is replaced by a connect, which asyncpg bounds by the same timeout.)
            return await conn.start()
        # Its own task, so that on time-out the request answers at once: cancelling a checkout whose
        # connect hangs makes asyncpg close that connection, which may take as long again.
        checkout = asyncio.ensure_future(conn.start())
        try:
            done, _ = await asyncio.wait({checkout}, timeout=self.connect_timeout)
        except asyncio.CancelledError:
            self._abandon(checkout)
            raise
        if checkout in done:
            return checkout.result()
        self._abandon(checkout)
        raise TimeoutError(f"no database connection within {self.connect_timeout} s")

    def _abandon(self, checkout: asyncio.Future[AsyncConnection]) -> None:
        """Cancel a checkout its caller gave up on; return its connection should it get one after all."""
        checkout.cancel()

        def release(done: asyncio.Future[AsyncConnection]) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            closing = asyncio.ensure_future(done.result().close())
            self._late_closes.add(closing)
            closing.add_done_callback(self._late_closes.discard)

        checkout.add_done_callback(release)

    @property
    def sqlite(self) -> LoopConnection:
        """SQLite's loop connection (the hot path's prepared statements run on its driver connection)."""
        if self._sqlite is None:
            raise TypeError("not a SQLite Database")
        return self._sqlite

    def unavailable(self, exc: BaseException) -> ServiceUnavailable | None:
        """The 503 of a failure of the database itself (counted, logged), None for a statement's own error."""
        if not _is_unavailable(exc):
            return None
        if self.on_unavailable is not None:
            self.on_unavailable("database")
        return _unavailable(exc)

    async def dispose(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        else:
            await self.engine.dispose()


class _AsyncConn(Conn):
    """``Conn`` over an ``AsyncConnection``; with ``reconnect``, the first statement survives a dead
    pooled connection once."""

    dialect_name = "postgresql"

    def __init__(
        self, connection: AsyncConnection, reconnect: Callable[[], Awaitable[AsyncConnection]] | None = None
    ) -> None:
        self.connection = connection
        self._reconnect = reconnect

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        try:
            result: CursorResult[Any] = await self.connection.execute(statement, parameters)
        except DBAPIError as exc:
            reconnect, self._reconnect = self._reconnect, None
            if reconnect is None or not exc.connection_invalidated:
                raise
            log.warning("a pooled connection was dead; retrying on a new one", extra={"event": "storage.reconnect"})
            await self.connection.close()
            self.connection = await reconnect()
            result = await self.connection.execute(statement, parameters)
        self._reconnect = None
        return result

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        self._reconnect = None
        return await self.connection.run_sync(fn, *args)


#: Failures of the database itself (unreachable, locked past the busy timeout, connection lost),
#: as opposed to a statement's own failure: they answer 503 instead of 500. ``PoolTimeout``: no
#: connection came free in the pool within its timeout.
#: The hot path's raw driver errors likewise: sqlite3's ``OperationalError``, asyncpg's interface
#: errors (a closed connection); asyncpg's server errors carry their SQLSTATE.
_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    OSError,
    TimeoutError,
    PoolTimeout,
    sqlite3.OperationalError,
    asyncpg.InterfaceError,
)
#: SQLSTATE classes of a PostgreSQL that is there but cannot serve now: connection exception (08),
#: insufficient resources (53, e.g. too many connections), operator intervention (57: a statement
#: past ``statement_timeout`` is 57014, a server shutting down 57P01), system error (58).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "58")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _UNAVAILABLE):
        return True
    sqlstate = getattr(getattr(exc, "orig", exc), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATES


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
