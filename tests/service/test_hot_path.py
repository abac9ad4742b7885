"""The repository's hot path (``authspec.storage.hot``: SQL strings on the driver) and SQLAlchemy Core
agree on every stored value: a row written by either path reads back the same through both, with
microseconds and with none, on SQLite (where an instant is stored as text that SQL compares) and
PostgreSQL; and the hot path's SQLite text is the text SQLAlchemy's ``DateTime`` writes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from authspec.services.ports import ExchangeOutcome, Session
from authspec.storage.engine import Database
from authspec.storage.hot import stored
from authspec.storage.migrate import upgrade
from authspec.storage.repository import SqlRepository, _refresh, _session, _user
from authspec.storage.tables import refresh_tokens, sessions, users
from tests.service.conftest import Target
from tests.service.storage_contract import session_with_token, user

#: With microseconds, and with none (SQLAlchemy still writes ``.000000``).
INSTANTS = [datetime(2026, 12, 8, 1, 2, 3, 456789, tzinfo=UTC), datetime(2026, 12, 8, 1, 2, 3, tzinfo=UTC)]


@pytest.fixture
async def repo(target: Target) -> AsyncIterator[SqlRepository]:
    db = Database(target.url, schema=target.schema)
    await upgrade(db)
    yield SqlRepository(db)
    await db.dispose()


async def core_session(repo: SqlRepository, session_id: str) -> Session:
    async with repo.db.read() as conn:
        row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).one()
    return _session(row)


@pytest.mark.parametrize("at", INSTANTS, ids=["micro", "whole"])
def test_the_hot_paths_sqlite_text_is_sqlalchemys(at: datetime) -> None:
    write = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert write is not None
    assert stored(at) == write(at.replace(tzinfo=None))
    # any zone in, UTC stored
    assert stored(at.astimezone(timezone(timedelta(hours=5, minutes=30)))) == stored(at)
    with pytest.raises(ValueError, match="timezone-aware"):
        stored(at.replace(tzinfo=None))


@pytest.mark.anyio
@pytest.mark.parametrize("at", INSTANTS, ids=["micro", "whole"])
async def test_rows_written_by_core_read_the_same_through_the_hot_path(repo: SqlRepository, at: datetime) -> None:
    ada = dataclasses.replace(user(), created_at=at)
    await repo.create_user(ada)  # Core
    session, token = session_with_token(ada, at=at)
    session = dataclasses.replace(session, last_active_at=at + timedelta(microseconds=1))
    await repo.start_session(session, token)  # Core
    assert await repo.hot.get_user(ada.id) == ada
    assert await repo.hot.get_session(session.id) == session
    assert await repo.hot.list_active_sessions(ada.id, at) == [session]
    assert await repo.hot.list_active_sessions(ada.id, session.expires_at) == []  # compared as stored
    assert await repo.hot.list_active_sessions(ada.id, session.expires_at - timedelta(microseconds=1)) == [session]


@pytest.mark.anyio
@pytest.mark.parametrize("at", INSTANTS, ids=["micro", "whole"])
async def test_rows_written_by_the_hot_path_read_the_same_through_core(repo: SqlRepository, at: datetime) -> None:
    ada = user()
    await repo.create_user(ada)
    session, token = session_with_token(ada, at=at - timedelta(seconds=10))
    await repo.start_session(session, token)
    exchange = await repo.hot.exchange_refresh_token(
        token.token_hash, "c" * 64, at, expires_at=at + timedelta(days=1), grace=10, idle_ttl=0
    )
    assert exchange.outcome is ExchangeOutcome.ROTATED and exchange.successor is not None
    async with repo.db.read() as conn:
        child = (await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == "c" * 64))).one()
        parent = (
            await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token.token_hash))
        ).one()
        owner = (await conn.execute(select(users).where(users.c.id == ada.id))).one()
    assert _refresh(child) == exchange.successor
    assert _refresh(parent) == dataclasses.replace(token, rotated_at=at, successor_hash="c" * 64)
    assert _user(owner) == ada
    assert await core_session(repo, session.id) == exchange.session == dataclasses.replace(session, last_active_at=at)
    later = at + timedelta(seconds=1, microseconds=at.microsecond and 1)
    await repo.hot.touch_session(session.id, later)
    assert await core_session(repo, session.id) == dataclasses.replace(session, last_active_at=later)
    # The hot path's stored text compares with Core's: a touch never moves lastActiveAt back.
    await repo.hot.touch_session(session.id, at)
    assert (await core_session(repo, session.id)).last_active_at == later
    # The grace replay reads the successor the hot path wrote.
    replay = await repo.hot.exchange_refresh_token(
        token.token_hash, "d" * 64, at, expires_at=at + timedelta(days=1), grace=10, idle_ttl=0
    )
    assert replay.outcome is ExchangeOutcome.GRACE and replay.successor == exchange.successor
