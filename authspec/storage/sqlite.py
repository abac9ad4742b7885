"""SQLite on the event loop: one pysqlite connection per ``Database``, no thread hop, no busy-wait.

Every statement runs synchronously on the loop's thread (a local SQLite statement takes tens of
microseconds; a hop to a driver thread cost more than the statement). A transaction body never
yields to the loop (``Conn.execute`` completes before it returns), so transactions of one process
cannot interleave: in-process writers queue on an ``asyncio.Lock``, never on SQLite's lock. The
connection's busy timeout is 0: when another *process* holds the write lock (``serve --workers 2``
on SQLite, ``authspec purge``), ``BEGIN IMMEDIATE`` fails at once and is retried after short async
sleeps (1 ms doubling to 50 ms) until ``busy_seconds`` have passed, then the database is
unavailable (503); the loop keeps serving other requests meanwhile. Reads are single statements
without ``BEGIN`` (WAL: a reader never waits for a writer); the rare busy answer of a read (WAL
recovery) is retried the same way. The file runs in WAL mode with ``synchronous=NORMAL``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, CursorResult, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.base import Executable

T = TypeVar("T")

_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


def _busy(exc: OperationalError | sqlite3.OperationalError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


class Conn:
    """What ``Database.read()`` and ``write()`` yield: ``await conn.execute(stmt)`` as on an
    ``AsyncConnection``, and ``run_sync(fn, *args)`` calling ``fn(sync_connection, *args)``.
    ``dialect_name`` is ``sqlite`` or ``postgresql``."""

    dialect_name = "sqlite"

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        raise NotImplementedError

    async def scalar(self, statement: Executable, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError


class _SyncConn(Conn):
    """A statement of an open transaction on the loop's connection (no retry: a held lock never busies)."""

    def __init__(self, owner: LoopConnection) -> None:
        self.owner = owner

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return self.owner.connection().execute(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self.owner.connection(), *args)


class _ReadConn(_SyncConn):
    """A statement outside any transaction: a busy answer is retried after an async pause."""

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        return await self.owner.retry_busy(lambda conn: conn.execute(statement, parameters))

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.owner.retry_busy(lambda conn: fn(conn, *args))


class LoopConnection:
    """The one connection of a SQLite ``Database``, used from the event loop only."""

    def __init__(self, url: URL, *, busy_seconds: float = 30.0, echo: bool = False) -> None:
        self.busy_seconds = busy_seconds
        self.engine: Engine = create_engine(
            url.set(drivername="sqlite"),
            echo=echo,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": 0},
        )
        event.listen(self.engine, "connect", _on_connect)
        self._conn: Connection | None = None
        self._raw: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.reader: Conn = _ReadConn(self)
        self.writer: Conn = _SyncConn(self)

    def connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
            self._raw = self._conn.connection.dbapi_connection  # type: ignore[assignment]
        return self._conn

    def raw(self) -> sqlite3.Connection:
        """The pysqlite connection under ``connection()`` (it caches the statements it prepares)."""
        raw = self._raw
        if raw is None or self._conn is None or self._conn.closed:
            self.connection()
            raw = self._raw
            assert raw is not None
        return raw

    def _in_transaction(self) -> bool:
        """Whether SQLite has a transaction open (a write's; reads run without one)."""
        raw = self._raw
        return bool(raw is not None and raw.in_transaction)

    def _end(self, *, commit: bool) -> None:
        """End the write transaction at the driver. (SQLAlchemy's own idea of a transaction, begun by
        any statement, means nothing with the driver's transaction control off: it is ended too when
        one was begun, and reads leave it be.)"""
        conn = self._conn
        if conn is None or conn.closed:
            return
        if conn.in_transaction():
            conn.commit() if commit else conn.rollback()
        raw = self._raw
        if raw is not None and raw.in_transaction:
            raw.commit() if commit else raw.rollback()

    async def _writer_done(self) -> None:
        """Wait while a write transaction of this process is open (only if its body yielded)."""
        while self._in_transaction() and self._lock.locked():
            async with self._lock:
                pass

    async def retry_busy(self, run: Callable[[Connection], T]) -> T:
        deadline = asyncio.get_running_loop().time() + self.busy_seconds
        pause = _FIRST_PAUSE
        while True:
            await self._writer_done()
            try:
                return run(self.connection())
            except (OperationalError, sqlite3.OperationalError) as exc:
                if not _busy(exc) or asyncio.get_running_loop().time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)

    async def fetch(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """A read of the hot path: one prepared statement on the driver connection, no BEGIN (retried
        as every read is when busy)."""
        if not self._lock.locked() or not self._in_transaction():
            try:
                return self.raw().execute(sql, parameters).fetchall()
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        return await self.retry_busy(lambda _conn: self.raw().execute(sql, parameters).fetchall())

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        await self._writer_done()
        yield self.reader

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Conn]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, one writer of this process at a time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_seconds
        if self._lock.locked():  # another write of this process is open: queue, within the bound
            try:
                async with asyncio.timeout_at(deadline):
                    await self._lock.acquire()
            except TimeoutError:
                raise TimeoutError(f"the SQLite write lock was not free within {self.busy_seconds} s") from None
        else:
            await self._lock.acquire()  # free: taken at once, without a pause
        try:
            pause = _FIRST_PAUSE
            while True:
                try:
                    self.raw().execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    self._end(commit=False)
                    if not _busy(exc) or loop.time() + pause > deadline:
                        raise
                await asyncio.sleep(pause)  # another process writes: let the loop serve meanwhile
                pause = min(pause * 2, _LONGEST_PAUSE)
            try:
                yield self.writer
            except BaseException:
                self._end(commit=False)
                raise
            self._end(commit=True)
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._raw = None
        self.engine.dispose()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the driver: write() emits BEGIN IMMEDIATE itself, reads none.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Switching to WAL needs the lock for a moment: wait for it here (once, when connecting) ...
    for pragma in ("busy_timeout=30000", "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    # ... and never afterwards: a busy database answers at once, and write() retries without blocking.
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()
