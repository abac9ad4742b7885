"""Rate limiters for the ``RateLimiter`` port: in the database by default, in Redis when configured.

Both count fixed windows keyed by a string, shared by every worker and instance (never process
memory); ``extend`` lengthens a window (a lockout) and ``remaining`` reads how long it lasts. The
database one is a single ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per event, atomic on
SQLite and PostgreSQL, and follows the injected clock. The Redis one is a Lua script (INCR and
PEXPIRE in one step) and follows Redis's own clock; its connect and every command are bounded
(``AUTHSPEC_REDIS_TIMEOUT``), and a Redis that cannot be reached or answers too late raises
``ServiceUnavailable`` (503), never an unexpected error (500).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select

from authspec.errors import ServiceUnavailable
from authspec.storage.engine import Database
from authspec.storage.repository import upsert
from authspec.storage.tables import rate_limits

log = logging.getLogger("authspec.storage")


class SqlRateLimiter:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ping(self) -> None:
        """The counters live in the repository's database, which the repository pings."""

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int:
        count, resets_at = await self._count(key, window=window, now=now)
        if count <= limit:
            return 0
        wait: float = (resets_at - now).total_seconds()
        return max(1, math.ceil(wait))

    async def count(self, key: str, *, window: int, now: datetime) -> int:
        count, _ = await self._count(key, window=window, now=now)
        return count

    async def extend(self, key: str, *, seconds: int, now: datetime) -> None:
        until = now + timedelta(seconds=seconds)
        stmt = upsert(self.db, rate_limits).values(key=key, count=0, resets_at=until)
        ended = rate_limits.c.resets_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[rate_limits.c.key],
            set_={
                "count": case((ended, 0), else_=rate_limits.c.count),
                "resets_at": case(
                    (ended, stmt.excluded.resets_at),
                    (rate_limits.c.resets_at < stmt.excluded.resets_at, stmt.excluded.resets_at),
                    else_=rate_limits.c.resets_at,
                ),
            },
        )
        async with self.db.write() as conn:
            await conn.execute(stmt)

    async def remaining(self, key: str, *, now: datetime) -> int:
        async with self.db.read() as conn:
            resets_at = (
                await conn.execute(select(rate_limits.c.resets_at).where(rate_limits.c.key == key))
            ).scalar_one_or_none()
        if resets_at is None or resets_at <= now:
            return 0
        wait: float = (resets_at - now).total_seconds()
        return max(1, math.ceil(wait))

    async def _count(self, key: str, *, window: int, now: datetime) -> tuple[int, datetime]:
        stmt = upsert(self.db, rate_limits).values(key=key, count=1, resets_at=now + timedelta(seconds=window))
        expired = rate_limits.c.resets_at <= now
        stmt = stmt.on_conflict_do_update(
            index_elements=[rate_limits.c.key],
            set_={
                "count": case((expired, 1), else_=rate_limits.c.count + 1),
                "resets_at": case((expired, stmt.excluded.resets_at), else_=rate_limits.c.resets_at),
            },
        ).returning(rate_limits.c.count, rate_limits.c.resets_at)
        async with self.db.write() as conn:
            row: Any = (await conn.execute(stmt)).one()
        return int(row[0]), row[1]

    async def release(self, key: str, *, now: datetime) -> None:
        async with self.db.write() as conn:
            await conn.execute(delete(rate_limits).where(rate_limits.c.key == key))


_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

_EXTEND = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  redis.call('SET', KEYS[1], 0, 'PX', ARGV[1])
elseif ttl < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""


class RedisRateLimiter:
    """Fixed windows in Redis under ``prefix``; ``now`` is ignored (Redis keeps the time)."""

    def __init__(self, client: Any, prefix: str = "authspec:limit:") -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_HIT)
        #: Called with ``"redis"`` each time Redis is found unavailable (the metrics).
        self.on_unavailable: Callable[[str], None] | None = None
        self._extend = client.register_script(_EXTEND)

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0) -> RedisRateLimiter:
        import redis.asyncio

        return cls(redis.asyncio.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout))

    @asynccontextmanager
    async def _unavailable_as_503(self) -> AsyncIterator[None]:
        import redis.exceptions

        try:
            yield
        except (
            redis.exceptions.ConnectionError,  # refused, reset, closed; BusyLoadingError too
            redis.exceptions.TimeoutError,
            redis.exceptions.ReadOnlyError,  # a replica after a failover
            OSError,
            TimeoutError,
        ) as exc:
            if self.on_unavailable is not None:
                self.on_unavailable("redis")
            log.error("Redis is unavailable", extra={"event": "redis.unavailable", "error": type(exc).__name__})
            raise ServiceUnavailable("The rate-limit store is unavailable; try again shortly") from exc

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int:
        async with self._unavailable_as_503():
            count, ttl_ms = await self._script(keys=[self.prefix + key], args=[window * 1000])
        if int(count) <= limit:
            return 0
        return max(1, math.ceil(int(ttl_ms) / 1000))

    async def release(self, key: str, *, now: datetime) -> None:
        await self.client.delete(self.prefix + key)

    async def count(self, key: str, *, window: int, now: datetime) -> int:
        async with self._unavailable_as_503():
            count, _ = await self._script(keys=[self.prefix + key], args=[window * 1000])
        return int(count)

    async def extend(self, key: str, *, seconds: int, now: datetime) -> None:
        async with self._unavailable_as_503():
            await self._extend(keys=[self.prefix + key], args=[seconds * 1000])

    async def remaining(self, key: str, *, now: datetime) -> int:
        async with self._unavailable_as_503():
            ttl_ms = int(await self.client.pttl(self.prefix + key))
        return max(1, math.ceil(ttl_ms / 1000)) if ttl_ms > 0 else 0

    async def ping(self) -> None:
        async with self._unavailable_as_503():
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()
