"""The relational schema of the real service (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Secrets are stored only as hashes (``token_hash``, ``code_hash``). Every instant is a
``UTCDateTime``: timestamptz on PostgreSQL, naive-UTC text on SQLite, always timezone-aware UTC
in Python. The purge (``authspec.storage.purge``) filters on indexed columns only. Alembic's
migrations (``authspec/storage/migrations``) create exactly these tables and indexes;
``tests/service/test_storage.py`` checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Dialect, ForeignKey, Index, Integer, MetaData, String, Table
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        utc: datetime = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_active_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("ip", String(64)),
    Column("user_agent", String(512)),
    Column("device_name", String(100)),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_reason", String(32)),
    Index(None, "user_id", "revoked_at"),
    # The purge's filters (revision 0002): ended sessions, expired codes, tokens and windows.
    Index(None, "revoked_at"),
    Index(None, "expires_at"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_id", String(36), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("parent_hash", String(64)),
    Column("rotated_at", UTCDateTime()),
    Column("successor_hash", String(64)),
    Column("revoked_at", UTCDateTime()),
)

email_codes = Table(
    "email_codes",
    metadata,
    Column("email", String(254), primary_key=True),
    Column("id", String(36), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("consumed_at", UTCDateTime()),
    Index(None, "expires_at"),
)

registration_tokens = Table(
    "registration_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("consumed_at", UTCDateTime()),
    Index(None, "expires_at"),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("resets_at", UTCDateTime(), nullable=False),
    Index(None, "resets_at"),
)

#: The revocation feed (revision 0003): one row per ended session, in the order the sessions ended.
#: ``id`` only grows (AUTOINCREMENT on SQLite, so a purged id is never given again; a sequence on
#: PostgreSQL) and becomes visible in id order (``authspec.storage.revocations``). No foreign key:
#: an entry outlives nothing it needs, and the session row may be purged first. ``session_expires_at``
#: bounds the ``exp`` of the session's access tokens; ``exp`` = min(ended_at + ACCESS_TTL, it).
revocations = Table(
    "revocations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sid", String(36), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=False),
    Column("session_expires_at", UTCDateTime(), nullable=False),
    Index(None, "ended_at"),
    Index(None, "session_expires_at"),
    sqlite_autoincrement=True,
)
