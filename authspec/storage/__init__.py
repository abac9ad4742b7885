"""The real service's storage: SQLAlchemy 2 Core on SQLite (on the event loop) or PostgreSQL (asyncpg), Alembic, Redis.

``Storage.open(settings)`` builds the engine (``engine``), the ``Repository`` (``repository``)
and the ``RateLimiter`` (``limits``: the database, or Redis when ``AUTHSPEC_REDIS_URL`` is set);
``start()`` applies migrations (``migrate``) and checks the connection; ``close()`` releases
everything. The signing keyring's file is found by ``keyfile``. The mock never imports this
package: it implements the same ports in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from authspec.services.ports import RateLimiter
from authspec.settings import Settings
from authspec.storage.engine import Database
from authspec.storage.limits import RedisRateLimiter, SqlRateLimiter
from authspec.storage.migrate import upgrade
from authspec.storage.repository import SqlRepository


@dataclass
class Storage:
    db: Database
    repository: SqlRepository
    limiter: RateLimiter
    redis: RedisRateLimiter | None = None

    @classmethod
    def open(cls, settings: Settings) -> Storage:
        """Build (without connecting) the storage the settings describe."""
        db = Database.from_settings(settings)
        redis = (
            RedisRateLimiter.from_url(settings.redis_url, timeout=settings.redis_timeout)
            if settings.redis_url
            else None
        )
        return cls(db=db, repository=SqlRepository(db), limiter=redis or SqlRateLimiter(db), redis=redis)

    def report_unavailable(self, callback: Callable[[str], None]) -> None:
        """Call ``callback`` with ``database`` or ``redis`` whenever that store is found unavailable."""
        self.db.on_unavailable = callback
        if self.redis is not None:
            self.redis.on_unavailable = callback

    async def start(self, *, migrate: bool = True) -> None:
        if migrate:
            # Without the statement timeout: an index build or another instance's migration may take longer.
            migrations = self.db.for_migrations()
            try:
                await upgrade(migrations)
            finally:
                if migrations is not self.db:
                    await migrations.dispose()
        # Fail at start, not at the first request, when the database or Redis cannot be reached.
        await self.repository.ping()
        await self.limiter.ping()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.close()
        await self.db.dispose()


__all__ = ["Database", "Storage"]
