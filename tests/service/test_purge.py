"""The purge of expired rows (``authspec.storage.purge``) on SQLite and PostgreSQL: it deletes in batches
and keeps live rows, skips while another connection holds its advisory lock, runs once from
``authspec purge``, runs soon after the service starts, and migration 0002 gives it its indexes."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from alembic import command
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Connection

from authspec.cli import main
from authspec.clock import SystemClock
from authspec.storage.engine import Database
from authspec.storage.migrate import alembic_config, current_revision, upgrade
from authspec.storage.purge import LOCK_CLASS, LOCK_SQL, RETENTION_SECONDS, PurgeReport, purge
from authspec.storage.repository import SqlRepository
from authspec.storage.tables import email_codes, rate_limits, refresh_tokens, registration_tokens, sessions
from tests.helpers import free_port
from tests.service.conftest import Target
from tests.service.storage_contract import code, session_with_token, successor_of, user
from tests.service.support import START, Api, data

#: The indexes revision 0002 adds, by table.
PURGE_INDEXES = {
    "sessions": {"ix_sessions_revoked_at": ["revoked_at"], "ix_sessions_expires_at": ["expires_at"]},
    "email_codes": {"ix_email_codes_expires_at": ["expires_at"]},
    "registration_tokens": {"ix_registration_tokens_expires_at": ["expires_at"]},
    "rate_limits": {"ix_rate_limits_resets_at": ["resets_at"]},
}


@pytest.fixture
async def database(target: Target) -> AsyncIterator[Database]:
    db = Database(target.url, schema=target.schema)
    await upgrade(db)
    yield db
    await db.dispose()


async def seed(db: Database, now: datetime) -> dict[str, set[str]]:
    """33 rows that ended or expired before ``now`` — 7 sessions (4 past their lifetime, 3 revoked)
    with 2 refresh tokens each, 5 codes, 3 registration tokens, 4 rate-limit windows — plus the 3
    revoked sessions' revocation-feed entries (gone once ACCESS_TTL passed), and live ones:
    2 sessions with 2 tokens each, 1 code, 1 registration token, 1 window. Returns the live keys."""
    repo = SqlRepository(db)
    owner = user(f"owner-{uuid.uuid4().hex[:8]}@example.com")
    await repo.create_user(owner)
    created = now - timedelta(days=2)
    live: dict[str, set[str]] = {"sessions": set(), "tokens": set()}
    for kind in ["expired"] * 4 + ["revoked"] * 3 + ["live"] * 2:
        session, first = session_with_token(owner, at=created, ttl=86_400 if kind == "expired" else 3 * 86_400)
        second = successor_of(first, at=created)
        await repo.start_session(session, first)
        async with db.write() as conn:
            await conn.execute(insert(refresh_tokens).values(**dataclasses.asdict(second)))
        if kind == "revoked":
            assert await repo.revoke_session(session.id, now - timedelta(hours=1), "logout")
        if kind == "live":
            live["sessions"].add(session.id)
            live["tokens"] |= {first.token_hash, second.token_hash}
    for i in range(6):
        at = now - timedelta(hours=2) if i < 5 else now
        await repo.replace_email_code(code(f"code-{i}@example.com", at=at, ttl=300), max_attempts=5)
    async with db.write() as conn:
        for i in range(4):
            expires = now - timedelta(hours=1) if i < 3 else now + timedelta(minutes=10)
            await conn.execute(
                insert(registration_tokens).values(
                    token_hash=uuid.uuid4().hex * 2,
                    email=f"new-{i}@example.com",
                    created_at=created,
                    expires_at=expires,
                )
            )
        for i in range(5):
            resets = now - timedelta(hours=1) if i < 4 else now + timedelta(minutes=5)
            await conn.execute(insert(rate_limits).values(key=f"window-{i}", count=1, resets_at=resets))
    return live


async def keys(db: Database) -> dict[str, set[str]]:
    """The primary keys left in each table the purge touches."""
    tables = {
        "sessions": sessions.c.id,
        "tokens": refresh_tokens.c.token_hash,
        "codes": email_codes.c.email,
        "registrations": registration_tokens.c.token_hash,
        "windows": rate_limits.c.key,
    }
    async with db.read() as conn:
        return {name: set((await conn.execute(select(column))).scalars()) for name, column in tables.items()}


@contextmanager
def deletes(db: Database) -> Iterator[list[int]]:
    """The row count of every DELETE statement run on ``db`` meanwhile (each is its own transaction)."""
    counts: list[int] = []

    def record(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            counts.append(cursor.rowcount)

    event.listen(db.sync_engine, "after_cursor_execute", record)
    try:
        yield counts
    finally:
        event.remove(db.sync_engine, "after_cursor_execute", record)


# -- the purge ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_purge_deletes_expired_rows_in_batches_and_keeps_live_ones(database: Database) -> None:
    live = await seed(database, START)
    with deletes(database) as counts:
        report = await purge(database, START, batch_size=3)
    # tokens 14 = 3+3+3+3+2, sessions 7 = 3+3+1, codes 5 = 3+2, registrations 3, windows 4 = 3+1
    assert report == PurgeReport(rows=33, batches=13)
    assert [n for n in counts if n] == [3, 3, 3, 3, 2, 3, 3, 1, 3, 2, 3, 3, 1]
    left = await keys(database)
    assert left["sessions"] == live["sessions"] and left["tokens"] == live["tokens"]
    assert left["codes"] == {"code-5@example.com"}
    assert len(left["registrations"]) == 1 and left["windows"] == {"window-4"}
    assert await purge(database, START, batch_size=3) == PurgeReport()


@pytest.mark.anyio
async def test_a_purge_skips_while_another_connection_holds_its_advisory_lock(
    database: Database, target: Target
) -> None:
    if target.backend != "postgres":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one host")
    await seed(database, START)
    before = await keys(database)
    holder = await asyncpg.connect(target.url, server_settings={"search_path": str(target.schema)})
    try:
        await holder.execute(LOCK_SQL.replace(":cls", "$1"), LOCK_CLASS)
        assert await purge(database, START, batch_size=3) == PurgeReport(skipped=True)
        assert await keys(database) == before
    finally:
        await holder.close()  # the lock goes with the connection
    assert (await purge(database, START, batch_size=3)).rows == 33


# -- authspec purge ----------------------------------------------------------------------------------------


def purge_env(target: Target, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", target.url)
    if target.schema:
        monkeypatch.setenv("AUTHSPEC_DATABASE_SCHEMA", target.schema)
    for name, value in extra.items():
        monkeypatch.setenv(f"AUTHSPEC_{name}", value)


def test_the_purge_command_runs_it_once(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    purge_env(target, monkeypatch, PURGE_BATCH_SIZE="3")
    assert main(["migrate"]) == 0
    capsys.readouterr()

    async def seeded() -> None:
        db = Database(target.url, schema=target.schema)
        try:  # the command keeps a day: rows that ended a day and an hour ago go
            await seed(db, SystemClock().now() - timedelta(seconds=RETENTION_SECONDS))
        finally:
            await db.dispose()

    asyncio.run(seeded())
    assert main(["purge"]) == 0
    # 33 rows, and the 3 feed entries of the revoked sessions (their exp passed an hour ago).
    assert capsys.readouterr().out == "authspec purge: deleted 36 expired row(s) in 14 batch(es)\n"
    assert main(["purge"]) == 0
    assert capsys.readouterr().out == "authspec purge: deleted 0 expired row(s) in 0 batch(es)\n"


def test_the_purge_command_skips_while_another_instance_purges(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if target.backend != "postgres":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serves one host")
    purge_env(target, monkeypatch)
    assert main(["migrate"]) == 0
    capsys.readouterr()

    async def held() -> tuple[int, str]:
        holder = await asyncpg.connect(target.url, server_settings={"search_path": str(target.schema)})
        try:
            await holder.execute(LOCK_SQL.replace(":cls", "$1"), LOCK_CLASS)
            code = await asyncio.to_thread(main, ["purge"])
            return code, capsys.readouterr().out
        finally:
            await holder.close()

    code, out = asyncio.run(held())
    assert (code, out.count("\n")) == (0, 1)
    assert out.startswith("authspec purge: skipped; another instance is purging")


def test_the_purge_command_on_a_database_that_was_never_migrated(
    target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    purge_env(target, monkeypatch)
    assert main(["purge"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("authspec purge: the database is at revision empty, not ")
    assert line.endswith("run `authspec migrate` first")


def test_the_purge_command_with_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")
    assert main(["purge"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("authspec purge: cannot reach the database (")


# -- migration 0002 ------------------------------------------------------------------------------------------


async def indexes(db: Database) -> dict[str, dict[str, list[str]]]:
    def read(conn: Connection) -> dict[str, dict[str, list[str]]]:
        inspector = inspect(conn)
        tables = [*PURGE_INDEXES, *(["revocations"] if inspector.has_table("revocations") else [])]
        return {
            table: {str(ix["name"]): [str(c) for c in ix["column_names"]] for ix in inspector.get_indexes(table)}
            for table in tables
        }

    async with db.read() as conn:
        return await conn.run_sync(read)


@pytest.mark.anyio
async def test_migration_0002_adds_the_purge_indexes_and_downgrades_cleanly(database: Database) -> None:
    def downgrade(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), "0001")

    found = await indexes(database)
    for table, wanted in PURGE_INDEXES.items():
        assert wanted.items() <= found[table].items(), (table, found[table])
    async with database.write() as conn:
        await conn.run_sync(downgrade)
    assert await current_revision(database) == "0001"
    found = await indexes(database)
    assert found["sessions"] == {"ix_sessions_user_id_revoked_at": ["user_id", "revoked_at"]}
    assert found["email_codes"] == found["registration_tokens"] == found["rate_limits"] == {}
    assert await upgrade(database, "0002") == "0002"
    found = await indexes(database)
    for table, wanted in PURGE_INDEXES.items():
        assert wanted.items() <= found[table].items(), (table, found[table])


@pytest.mark.anyio
async def test_migration_0003_adds_the_revocation_feed_and_downgrades_cleanly(database: Database) -> None:
    def downgrade(conn: Connection) -> None:
        command.downgrade(alembic_config(conn), "0002")

    feed_indexes = {
        "ix_revocations_ended_at": ["ended_at"],
        "ix_revocations_session_expires_at": ["session_expires_at"],
    }
    assert (await indexes(database))["revocations"] == feed_indexes
    async with database.write() as conn:
        await conn.run_sync(downgrade)
    assert await current_revision(database) == "0002"
    assert "revocations" not in await indexes(database)
    assert await upgrade(database) == "0003"
    assert (await indexes(database))["revocations"] == feed_indexes


# -- the service -------------------------------------------------------------------------------------------


def test_the_service_purges_soon_after_it_starts(make_api: Callable[..., Api]) -> None:
    first = make_api()  # the test default: no purge for an hour
    ended, kept = first.login("ada@example.com", device="ended"), first.login("ada@example.com", device="kept")
    data(first.post("/auth/logout", {"scope": "current"}, ended.access))
    first.clock.advance(RETENTION_SECONDS + 600)  # a day after the session ended and the codes expired
    assert len(first.rows(sessions)) == 2
    # A restarted instance: its interval is an hour, so only its first purge, soon after start, can act.
    second = make_api(purge_delay=0.2, purge_interval=3600)
    deadline = time.monotonic() + 10
    while len(second.rows(sessions)) > 1:
        assert time.monotonic() < deadline, "the ended session was not purged after the start"
        time.sleep(0.05)
    assert [s["device_name"] for s in second.rows(sessions)] == ["kept"]
    assert second.rows(email_codes) == []
    data(second.refresh(kept.refresh))
