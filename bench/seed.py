"""The benchmark's data: the real service's database filled in bulk, and pools of live tokens.

``Seeder(settings)`` works on the service's own storage and services (the same key file as the
server it feeds): ``prepare`` migrates a fresh database and creates the pool's users;
``fill(total)`` adds filler sessions (each with a refresh token, spread over users of their own)
in one bulk statement per table until ``total`` sessions are stored — PostgreSQL
``generate_series``, SQLite a recursive CTE; ``mint()`` ends the pool users' earlier sessions and
starts fresh ones, returning their access and refresh tokens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from authspec.clock import SystemClock
from authspec.mail import build_mailer
from authspec.services import Services, build_services
from authspec.services.ports import ClientInfo, User
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings
from authspec.storage import Storage
from authspec.storage.keyfile import load_keyring, persist_keyring
from authspec.storage.migrate import upgrade
from authspec.storage.secretfile import load_secret, persist_secret
from authspec.storage.tables import sessions

POOL_USERS = 32
SESSIONS_PER_USER = 4
FILLER_PER_USER = 4

_SQLITE_FILL = [
    # Users, then their sessions, then one refresh token per session: ids derived from the row number.
    """
    WITH RECURSIVE n(i) AS (SELECT :first UNION ALL SELECT i + 1 FROM n WHERE i < :last)
    INSERT INTO users (id, email, first_name, last_name, created_at)
    SELECT printf('f%035d', i), printf('filler%d@bench.example', i), 'Filler', 'User', :now FROM n
    """,
    """
    WITH RECURSIVE n(i) AS (SELECT :first_s UNION ALL SELECT i + 1 FROM n WHERE i < :last_s)
    INSERT INTO sessions (id, user_id, created_at, last_active_at, expires_at, ip, user_agent, device_name)
    SELECT printf('s%035d', i), printf('f%035d', :first + (i - :first_s) / :per_user), :now, :now, :expires,
           '198.51.100.7', 'bench/1.0', 'filler' FROM n
    """,
    """
    WITH RECURSIVE n(i) AS (SELECT :first_s UNION ALL SELECT i + 1 FROM n WHERE i < :last_s)
    INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at)
    SELECT printf('%064d', i), printf('s%035d', i), printf('f%035d', :first + (i - :first_s) / :per_user),
           :now, :expires FROM n
    """,
]

_POSTGRES_FILL = [
    """
    INSERT INTO users (id, email, first_name, last_name, created_at)
    SELECT 'f' || lpad(i::text, 35, '0'), 'filler' || i || '@bench.example', 'Filler', 'User',
           CAST(:now AS timestamptz)
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
    """,
    """
    INSERT INTO sessions (id, user_id, created_at, last_active_at, expires_at, ip, user_agent, device_name)
    SELECT 's' || lpad(i::text, 35, '0'),
           'f' || lpad((CAST(:first AS bigint) + (i - CAST(:first_s AS bigint)) / CAST(:per_user AS bigint))::text,
                       35, '0'),
           CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:expires AS timestamptz),
           '198.51.100.7', 'bench/1.0', 'filler'
    FROM generate_series(CAST(:first_s AS bigint), CAST(:last_s AS bigint)) AS i
    """,
    """
    INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at)
    SELECT lpad(i::text, 64, '0'), 's' || lpad(i::text, 35, '0'),
           'f' || lpad((CAST(:first AS bigint) + (i - CAST(:first_s AS bigint)) / CAST(:per_user AS bigint))::text,
                       35, '0'),
           CAST(:now AS timestamptz), CAST(:expires AS timestamptz)
    FROM generate_series(CAST(:first_s AS bigint), CAST(:last_s AS bigint)) AS i
    """,
]


@dataclass
class Pool:
    access: list[str]
    refresh: list[str]


class Seeder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage = Storage.open(settings)
        self.clock = SystemClock()
        self.services: Services = build_services(
            repo=self.storage.repository,
            limiter=self.storage.limiter,
            mailer=build_mailer(settings),
            keyring=persist_keyring(settings, load_keyring(settings)),
            secrets=ServiceSecrets.from_secret(persist_secret(settings, load_secret(settings))),
            clock=self.clock,
            settings=settings,
        )
        self.users: list[User] = []
        self._filler_sessions = 0

    async def prepare(self) -> None:
        await upgrade(self.storage.db)
        now = self.clock.now()
        for n in range(POOL_USERS):
            user = User(
                id=str(uuid.uuid4()),
                email=f"pool{n}@bench.example",
                first_name="Pool",
                last_name="User",
                created_at=now,
            )
            await self.storage.repository.create_user(user)
            self.users.append(user)

    async def count(self) -> int:
        async with self.storage.db.read() as conn:
            return int((await conn.execute(select(func.count()).select_from(sessions))).scalar_one())

    async def fill(self, total: int) -> int:
        """Add filler sessions until ``total`` sessions are stored; returns how many were added."""
        missing = total - await self.count()
        if missing <= 0:
            return 0
        first_s = self._filler_sessions + 1
        last_s = self._filler_sessions + missing
        first_u = (first_s - 1) // FILLER_PER_USER + 1
        if (first_s - 1) % FILLER_PER_USER:
            first_u += 1  # the previous fill's last user may be partly used: start a fresh one
        last_u = first_u + (missing - 1) // FILLER_PER_USER
        now = self.clock.now()
        values: dict[str, Any] = {
            "first": first_u,
            "last": last_u,
            "first_s": first_s,
            "last_s": last_s,
            "per_user": FILLER_PER_USER,
            "now": self._stamp(now),
            "expires": self._stamp(now + timedelta(days=30)),
        }
        statements = _SQLITE_FILL if self.storage.db.is_sqlite else _POSTGRES_FILL
        async with self.storage.db.write() as conn:
            if not self.storage.db.is_sqlite:
                # Filler of a bench-only database: skip the per-row foreign-key triggers, which made a
                # million-row insert take minutes (the rows are consistent by construction).
                await conn.execute(text("SET LOCAL session_replication_role = replica"))
            for statement in statements:
                await conn.execute(text(statement), values)
            if not self.storage.db.is_sqlite:
                for table in ("users", "sessions", "refresh_tokens"):
                    await conn.execute(text(f"ANALYZE {table}"))
        if self.storage.db.is_sqlite:
            async with self.storage.db.write() as conn:
                await conn.execute(text("ANALYZE"))
        self._filler_sessions = last_s
        return missing

    def _stamp(self, moment: datetime) -> Any:
        # SQLite keeps naive UTC text in SQLAlchemy's format; PostgreSQL takes timestamptz.
        if self.storage.db.is_sqlite:
            return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    async def mint(self) -> Pool:
        """End the pool users' sessions and start ``SESSIONS_PER_USER`` fresh ones for each."""
        now = self.clock.now()
        pool = Pool(access=[], refresh=[])
        for user in self.users:
            await self.storage.repository.revoke_user_sessions(user.id, now, "logout")
            for n in range(SESSIONS_PER_USER):
                pair = await self.services.tokens.start_session(
                    user, device_name=f"bench-{n}", client=ClientInfo(ip="127.0.0.1", user_agent="bench")
                )
                pool.access.append(pair.access_token)
                pool.refresh.append(pair.refresh_token)
        return pool

    async def close(self) -> None:
        await self.storage.close()
