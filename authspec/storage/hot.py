"""The repository's hot path without SQLAlchemy's per-call machinery: the bearer check's session read,
its touch, the session list, the user read and the refresh exchange, as fixed SQL strings run on
the driver connection (pysqlite's and asyncpg's prepared-statement caches).

They are the same statements ``SqlRepository``'s Core versions were, with the same atomicity: reads
are single statements without BEGIN; the exchange is one transaction that locks the token with its
session (SQLite's write lock; ``FOR UPDATE`` on PostgreSQL, where its writes are one data-modifying
statement). Values are stored exactly as ``tables.UTCDateTime`` stores them (SQLite: naive UTC
text ``YYYY-MM-DD HH:MM:SS.ffffff``, which SQL compares as text; PostgreSQL: timestamptz), so
rows written by either path read back the same through both. Rare steps (the reuse revocation)
stay on SQLAlchemy Core, inside the exchange's transaction: ``end_session`` gets its ``Conn``.
This module holds the statements and SQLite's implementation; ``hot_pg`` PostgreSQL's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from authspec.services.ports import (
    Exchange,
    ExchangeOutcome,
    RefreshToken,
    Session,
    User,
    exchangeable,
    in_grace,
    is_current,
    successor_token,
)
from authspec.storage.engine import Database
from authspec.storage.sqlite import Conn

#: ``end_session(conn, session_id, now, reason)`` in the caller's transaction (the repository's Core step).
EndSession = Callable[[Conn, str, datetime, str], Awaitable[bool]]

GET_SESSION = (
    "SELECT id, user_id, created_at, last_active_at, expires_at, ip, user_agent, device_name, revoked_at,"
    " revoked_reason FROM sessions WHERE id = $1"
)
LIST_SESSIONS = (
    "SELECT id, user_id, created_at, last_active_at, expires_at, ip, user_agent, device_name, revoked_at,"
    " revoked_reason FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2"
    " ORDER BY created_at DESC, id"
)
TOUCH_SESSION = "UPDATE sessions SET last_active_at = $2 WHERE id = $1 AND last_active_at < $2"
GET_USER = "SELECT id, email, first_name, last_name, created_at FROM users WHERE id = $1"
GET_REFRESH = (
    "SELECT token_hash, session_id, user_id, created_at, expires_at, parent_hash, rotated_at, successor_hash,"
    " revoked_at FROM refresh_tokens WHERE token_hash = $1"
)
#: The exchange's one read: a refresh token with its session (PostgreSQL locks both: ``FOR UPDATE``).
EXCHANGE = (
    "SELECT s.id, s.user_id, s.created_at, s.last_active_at, s.expires_at, s.ip, s.user_agent, s.device_name,"
    " s.revoked_at, s.revoked_reason, rt.token_hash, rt.session_id, rt.user_id, rt.created_at, rt.expires_at,"
    " rt.parent_hash, rt.rotated_at, rt.successor_hash, rt.revoked_at"
    " FROM sessions s JOIN refresh_tokens rt ON rt.session_id = s.id WHERE rt.token_hash = $1"
)
ROTATE = "UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3 WHERE token_hash = $1"
INSERT_REFRESH = (
    "INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at, parent_hash,"
    " rotated_at, successor_hash, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL)"
)
TOUCH_LOCKED = "UPDATE sessions SET last_active_at = $2 WHERE id = $1"
#: PostgreSQL: the rotation, the successor and the touch in one round trip. Each data-modifying
#: part runs exactly once, to completion, on distinct rows already locked by ``EXCHANGE``.
ROTATE_ALL = (
    "WITH rotated AS (UPDATE refresh_tokens SET rotated_at = $4, successor_hash = $1 WHERE token_hash = $6),"
    " touched AS (UPDATE sessions SET last_active_at = $4 WHERE id = $2 AND last_active_at < $4)"
    " INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at, parent_hash,"
    " rotated_at, successor_hash, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL)"
)


def _qmarks(sql: str) -> str:
    """SQLite's form of a statement: ``?NNN`` numbered parameters (the same numbers, the same values)."""
    return sql.replace("$", "?")


def stored(value: datetime) -> str:
    """An instant as SQLAlchemy's SQLite ``DateTime`` stores a ``UTCDateTime``: naive UTC text."""
    if value.tzinfo is None:
        raise ValueError("UTCDateTime needs a timezone-aware datetime")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


@lru_cache(maxsize=4096)
def _text(value: str | None) -> datetime | None:
    """A SQLite instant (with or without microseconds) as an aware UTC datetime (cached: a session's
    instants repeat on every read of it, and datetimes are immutable)."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _session_of(row: Any, at: Callable[[Any], Any]) -> Session:
    return Session(
        id=row[0],
        user_id=row[1],
        created_at=at(row[2]),
        last_active_at=at(row[3]),
        expires_at=at(row[4]),
        ip=row[5],
        user_agent=row[6],
        device_name=row[7],
        revoked_at=at(row[8]),
        revoked_reason=row[9],
    )


def _refresh_of(row: Any, at: Callable[[Any], Any], first: int = 0) -> RefreshToken:
    return RefreshToken(
        token_hash=row[first],
        session_id=row[first + 1],
        user_id=row[first + 2],
        created_at=at(row[first + 3]),
        expires_at=at(row[first + 4]),
        parent_hash=row[first + 5],
        rotated_at=at(row[first + 6]),
        successor_hash=row[first + 7],
        revoked_at=at(row[first + 8]),
    )


def _user_of(row: Any, at: Callable[[Any], Any]) -> User:
    return User(id=row[0], email=row[1], first_name=row[2], last_name=row[3], created_at=at(row[4]))


def _utc(value: Any) -> Any:
    """A PostgreSQL instant: asyncpg's aware datetime, in UTC as ``UTCDateTime`` gives it."""
    return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)


class SqliteHot:
    """The hot path on SQLite: prepared statements on the loop connection's pysqlite connection."""

    def __init__(self, db: Database, end_session: EndSession) -> None:
        self.db = db
        self.loop = db.sqlite
        self.end_session = end_session

    async def _rows(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        try:
            return await self.loop.fetch(sql, parameters)
        except Exception as exc:
            error = self.db.unavailable(exc)
            if error is None:
                raise
            raise error from exc

    async def get_session(self, session_id: str) -> Session | None:
        rows = await self._rows(_GET_SESSION, (session_id,))
        return _session_of(rows[0], _text) if rows else None

    async def list_active_sessions(self, user_id: str, now: datetime) -> list[Session]:
        return [_session_of(row, _text) for row in await self._rows(_LIST_SESSIONS, (user_id, stored(now)))]

    async def get_user(self, user_id: str) -> User | None:
        rows = await self._rows(_GET_USER, (user_id,))
        return _user_of(rows[0], _text) if rows else None

    async def touch_session(self, session_id: str, now: datetime) -> None:
        async with self.db.write():
            self.loop.raw().execute(_TOUCH_SESSION, (session_id, stored(now)))

    async def exchange_refresh_token(
        self, parent_hash: str, successor_hash: str, now: datetime, *, expires_at: datetime, grace: float, idle_ttl: int
    ) -> Exchange:
        async with self.db.write() as conn:
            raw = self.loop.raw()
            row = raw.execute(_EXCHANGE, (parent_hash,)).fetchone()
            if row is None:
                return Exchange(ExchangeOutcome.INVALID)
            session, parent = _session_of(row, _text), _refresh_of(row, _text, 10)
            if not exchangeable(session, parent, now, idle_ttl):
                return Exchange(ExchangeOutcome.INVALID)
            at = stored(now)
            if parent.rotated_at is None:
                successor = successor_token(session, parent, successor_hash, now, expires_at)
                raw.execute(_ROTATE, (parent_hash, at, successor_hash))
                raw.execute(
                    _INSERT_REFRESH,
                    (successor_hash, session.id, parent.user_id, at, stored(successor.expires_at), parent_hash),
                )
                if session.last_active_at < now:
                    raw.execute(_TOUCH_LOCKED, (session.id, at))
                    session = dataclasses.replace(session, last_active_at=now)
                return Exchange(ExchangeOutcome.ROTATED, session, parent, successor)
            if in_grace(parent, now, grace):
                child_row = raw.execute(_GET_REFRESH, (parent.successor_hash,)).fetchone()
                child = None if child_row is None else _refresh_of(child_row, _text)
                if child is not None and is_current(child):
                    return Exchange(ExchangeOutcome.GRACE, session, parent, child)
            await self.end_session(conn, session.id, now, "refresh_token_reused")
            return Exchange(ExchangeOutcome.REUSED, session, parent)


_GET_SESSION, _LIST_SESSIONS, _TOUCH_SESSION, _GET_USER, _GET_REFRESH = map(
    _qmarks, (GET_SESSION, LIST_SESSIONS, TOUCH_SESSION, GET_USER, GET_REFRESH)
)
_EXCHANGE, _ROTATE, _INSERT_REFRESH, _TOUCH_LOCKED = map(_qmarks, (EXCHANGE, ROTATE, INSERT_REFRESH, TOUCH_LOCKED))
