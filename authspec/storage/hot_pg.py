"""The hot path on PostgreSQL (``authspec.storage.hot``'s statements): asyncpg directly, on a
connection of the ``Database``'s own pool, so every bound stays as it is (the connect timeout for
a connection, ``statement_timeout`` and asyncpg's ``command_timeout`` for each statement, the
``search_path`` schema, the pool's size and recycling) and its failures answer 503 as SQLAlchemy's
do. Reads run in autocommit (no BEGIN); the exchange is one asyncpg transaction whose rows are
locked ``FOR UPDATE`` and whose writes are one data-modifying statement. Statements are prepared
once per connection by asyncpg's statement cache.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from authspec.services.ports import (
    Exchange,
    ExchangeOutcome,
    Session,
    User,
    exchangeable,
    in_grace,
    is_current,
    successor_token,
)
from authspec.storage.engine import _UNAVAILABLE, Database, _AsyncConn, _is_unavailable, log
from authspec.storage.hot import (
    EXCHANGE,
    GET_REFRESH,
    GET_SESSION,
    GET_USER,
    LIST_SESSIONS,
    ROTATE_ALL,
    TOUCH_SESSION,
    EndSession,
    _refresh_of,
    _session_of,
    _user_of,
    _utc,
)
from authspec.storage.sqlite import Conn, T

EXCHANGE_LOCKED = EXCHANGE + " FOR UPDATE"


class PgLease:
    """A pooled PostgreSQL connection lent to the hot path: ``driver`` is its asyncpg connection
    (prepared statements cached by asyncpg), ``core`` runs SQLAlchemy statements on the same one."""

    def __init__(self, db: Database, connection: AsyncConnection) -> None:
        self.db = db
        self.connection = connection
        self.driver: Any = None  # the asyncpg connection, set by attach()

    async def attach(self) -> None:
        self.driver = (await self.connection.get_raw_connection()).driver_connection

    @property
    def core(self) -> Conn:
        return _AsyncConn(self.connection)

    async def first(self, run: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """The lease's first round trip: on a pooled connection found dead, once more on a new one
        (nothing had happened on it yet), as ``_AsyncConn`` does for SQLAlchemy statements."""
        try:
            return await run(self.driver)
        except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionError) as exc:
            if isinstance(exc, asyncpg.InterfaceError) and "closed" not in str(exc):
                raise
            log.warning("a pooled connection was dead; retrying on a new one", extra={"event": "storage.reconnect"})
            await self.connection.invalidate()
            await self.connection.close()
            self.connection = await self.db._connect(self.db._reader)
            await self.attach()
            return await run(self.driver)


@asynccontextmanager
async def leased(db: Database) -> AsyncIterator[PgLease]:
    """PostgreSQL: a pooled connection in autocommit (no BEGIN unless the caller opens an asyncpg
    transaction), got within the connect timeout, for statements run on asyncpg directly. A
    connection that failed as unavailable is invalidated (closed, not pooled again)."""
    try:
        lease = PgLease(db, await db._connect(db._reader))
        await lease.attach()
        try:
            yield lease
        except BaseException as exc:
            if _is_unavailable(exc):
                await lease.connection.invalidate()
            raise
        finally:
            await lease.connection.close()
    except (*_UNAVAILABLE, DBAPIError, asyncpg.PostgresError) as exc:
        error = db.unavailable(exc)
        if error is None:
            raise
        raise error from exc


class PgHot:
    """The hot path on PostgreSQL: asyncpg on a pooled autocommit connection (``leased``)."""

    def __init__(self, db: Database, end_session: EndSession) -> None:
        self.db = db
        self.end_session = end_session

    async def get_session(self, session_id: str) -> Session | None:
        async with leased(self.db) as lease:
            row = await lease.first(lambda driver: driver.fetchrow(GET_SESSION, session_id))
        return None if row is None else _session_of(row, _utc)

    async def list_active_sessions(self, user_id: str, now: datetime) -> list[Session]:
        async with leased(self.db) as lease:
            rows = await lease.first(lambda driver: driver.fetch(LIST_SESSIONS, user_id, now))
        return [_session_of(row, _utc) for row in rows]

    async def get_user(self, user_id: str) -> User | None:
        async with leased(self.db) as lease:
            row = await lease.first(lambda driver: driver.fetchrow(GET_USER, user_id))
        return None if row is None else _user_of(row, _utc)

    async def touch_session(self, session_id: str, now: datetime) -> None:
        async with leased(self.db) as lease:
            await lease.first(lambda driver: driver.execute(TOUCH_SESSION, session_id, now))

    async def exchange_refresh_token(
        self, parent_hash: str, successor_hash: str, now: datetime, *, expires_at: datetime, grace: float, idle_ttl: int
    ) -> Exchange:
        async with leased(self.db) as lease:

            async def begin(driver: Any) -> Any:
                transaction = driver.transaction()
                await transaction.start()
                return transaction

            transaction = await lease.first(begin)
            try:
                exchange = await self._exchange(lease, parent_hash, successor_hash, now, expires_at, grace, idle_ttl)
            except BaseException:
                try:
                    await transaction.rollback()
                except Exception:  # the connection failed meanwhile: never pooled again
                    await lease.connection.invalidate()
                raise
            await transaction.commit()
            return exchange

    async def _exchange(
        self,
        lease: Any,
        parent_hash: str,
        successor_hash: str,
        now: datetime,
        expires_at: datetime,
        grace: float,
        idle_ttl: int,
    ) -> Exchange:
        driver = lease.driver
        row = await driver.fetchrow(EXCHANGE_LOCKED, parent_hash)
        if row is None:
            return Exchange(ExchangeOutcome.INVALID)
        session, parent = _session_of(row, _utc), _refresh_of(row, _utc, 10)
        if not exchangeable(session, parent, now, idle_ttl):
            return Exchange(ExchangeOutcome.INVALID)
        if parent.rotated_at is None:
            successor = successor_token(session, parent, successor_hash, now, expires_at)
            await driver.execute(
                ROTATE_ALL, successor_hash, session.id, parent.user_id, now, successor.expires_at, parent_hash
            )
            if session.last_active_at < now:
                session = dataclasses.replace(session, last_active_at=now)
            return Exchange(ExchangeOutcome.ROTATED, session, parent, successor)
        if in_grace(parent, now, grace):
            child_row = await driver.fetchrow(GET_REFRESH, parent.successor_hash)
            child = None if child_row is None else _refresh_of(child_row, _utc)
            if child is not None and is_current(child):
                return Exchange(ExchangeOutcome.GRACE, session, parent, child)
        await self.end_session(lease.core, session.id, now, "refresh_token_reused")
        return Exchange(ExchangeOutcome.REUSED, session, parent)
