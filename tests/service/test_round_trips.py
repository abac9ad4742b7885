"""The storage's round trips per request, counted: a refresh is one transaction, a session list or
``GET /auth/me`` at most two statements and no transaction (no BEGIN/COMMIT on PostgreSQL); and on
SQLite no writer waits inside the process: many concurrent refreshes all succeed, and a write lock
held by another connection (another process) is waited out without stopping the event loop.
Statements are counted at the driver, whichever path ran them (SQLAlchemy Core or the hot path's SQL
strings): on SQLite by SQLite itself (``set_trace_callback``: every statement run, BEGIN and COMMIT
included); on PostgreSQL at asyncpg (every statement sent, prepared or not; each ``transaction()``
is a BEGIN round trip). Times are printed, never asserted."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from authspec.errors import ServiceUnavailable
from authspec.services.ports import ExchangeOutcome
from authspec.storage.engine import Database
from authspec.storage.migrate import upgrade
from authspec.storage.repository import SqlRepository
from authspec.storage.sqlite import LoopConnection
from tests.service.conftest import Target
from tests.service.storage_contract import NOW, session_with_token, user
from tests.service.support import Api, data, live, parallel


class Count:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.transactions = 0  # PostgreSQL: asyncpg transactions begun

    @property
    def begins(self) -> int:
        """SQLite: the BEGINs the storage emitted (reads run without one)."""
        return sum(1 for s in self.statements if s.upper().startswith("BEGIN"))

    @property
    def work(self) -> list[str]:
        """The statements other than transaction control."""
        return [s for s in self.statements if s.split()[0].upper().rstrip(";") not in ("BEGIN", "COMMIT", "ROLLBACK")]


@contextmanager
def counting(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Count]:
    count = Count()

    def record(statement: str) -> None:
        count.statements.append(statement.strip())

    if db.is_sqlite:
        raw = db.sqlite.raw()
        raw.set_trace_callback(record)
        try:
            yield count
        finally:
            raw.set_trace_callback(None)
        return
    import asyncpg
    from asyncpg.connection import Connection
    from asyncpg.prepared_stmt import PreparedStatement

    begin = Connection.transaction
    execute, run = Connection.execute, Connection._execute
    bind_execute = PreparedStatement._PreparedStatement__bind_execute

    def transaction(self: Any, *args: Any, **kwargs: Any) -> Any:
        count.transactions += 1
        return begin(self, *args, **kwargs)

    async def simple(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # the simple protocol (BEGIN, COMMIT); with arguments it goes through _execute
            record(query)
        return await execute(self, query, *args, **kwargs)

    async def extended(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        record(query)  # fetch, fetchrow, fetchval, execute with arguments: the hot path
        return await run(self, query, *args, **kwargs)

    async def prepared(self: Any, *args: Any, **kwargs: Any) -> Any:
        record(self.get_query())  # SQLAlchemy's prepared statements
        return await bind_execute(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transaction", transaction)
    monkeypatch.setattr(Connection, "execute", simple)
    monkeypatch.setattr(Connection, "_execute", extended)
    monkeypatch.setattr(PreparedStatement, "_PreparedStatement__bind_execute", prepared)
    assert asyncpg.Connection is Connection
    try:
        yield count
    finally:
        monkeypatch.undo()


def storage_db(api: Api) -> Database:
    db: Database = api.app.authspec.extras["storage"].db
    return db


def test_a_refresh_is_one_transaction(api: Api, target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    login = api.login("ada@example.com")
    api.clock.advance(5)
    with counting(storage_db(api), monkeypatch) as count:
        assert api.refresh(login.refresh).status_code == 200
    print(f"{target.backend}: refresh ran {count.statements}")
    if target.backend == "sqlite":
        assert count.begins == 1
        assert count.statements[0] == "BEGIN IMMEDIATE"
        # the lock read (token and session together), the rotation, the successor, the touch
        assert len(count.work) == 4
    else:
        assert count.transactions == 1
        # the lock read (FOR UPDATE), then the rotation, the successor and the touch in one statement
        assert len(count.work) == 2


@pytest.mark.parametrize("path", ["/auth/sessions", "/auth/me"])
def test_a_list_or_me_is_at_most_two_statements_and_no_transaction(
    api: Api, target: Target, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    login = api.login("ada@example.com")
    with counting(storage_db(api), monkeypatch) as count:
        assert api.get(path, login.access).status_code == 200
    print(f"{target.backend}: GET {path} ran {count.statements}")
    assert len(count.statements) <= 2  # the bearer check's session read, the operation's own read
    assert count.statements
    assert count.begins == 0 and count.transactions == 0


def test_a_grace_replay_and_a_reuse_are_one_transaction_each(
    api: Api, target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = api.login("ada@example.com")
    first = data(api.refresh(login.refresh))
    with counting(storage_db(api), monkeypatch) as count:
        assert data(api.refresh(login.refresh)) == first
    assert (count.begins if target.backend == "sqlite" else count.transactions) == 1
    api.clock.advance(api.settings.refresh_grace + 1)
    with counting(storage_db(api), monkeypatch) as count:
        assert api.refresh(login.refresh).json()["errorCode"] == "refresh_token_reused"
    # the revocation happens in the exchange's transaction; the event's email hash is one read after it
    assert (count.begins if target.backend == "sqlite" else count.transactions) == 1


# -- SQLite: one writer, never a busy-wait -------------------------------------------------------------------


@pytest.mark.slow
def test_sixty_four_concurrent_refreshes_on_sqlite_all_succeed(
    make_api: Callable[..., Api], make_app: Callable[..., Any], target: Target
) -> None:
    if target.backend != "sqlite":
        pytest.skip("PostgreSQL writers wait on row locks, never busy-wait")
    api = make_api()
    logins = [api.login(f"user{n}@example.com") for n in range(64)]
    with live(make_app()) as (url,):
        started = time.perf_counter()
        answers = parallel([("POST", url + "/auth/refresh", {"json": {"refreshToken": x.refresh}}) for x in logins])
        took = time.perf_counter() - started
    print(f"64 concurrent refreshes of distinct sessions on SQLite: {took * 1000:.0f} ms")
    assert [a.status_code for a in answers] == [200] * 64


@pytest.fixture
async def sqlite_repo(tmp_path: Any) -> Any:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    await upgrade(db)
    yield SqlRepository(db)
    await db.dispose()


@pytest.mark.anyio
async def test_a_write_waits_out_another_process_without_blocking_the_loop(sqlite_repo: SqlRepository) -> None:
    repo, db = sqlite_repo, sqlite_repo.db
    ada = user()
    await repo.create_user(ada)
    session, token = session_with_token(ada)
    await repo.start_session(session, token)
    path = db.url.database
    assert path
    other = sqlite3.connect(path, isolation_level=None)  # as another process: its own connection and lock
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        exchange = asyncio.ensure_future(
            repo.exchange_refresh_token(
                token.token_hash, "c" * 64, NOW, expires_at=NOW + timedelta(days=1), grace=10, idle_ttl=0
            )
        )
        await asyncio.sleep(0.1)
        assert not exchange.done()
        # Meanwhile the loop serves other requests: a read answers while the write waits.
        assert await repo.get_session(session.id) == session
        read_at = time.perf_counter() - started
        other.execute("COMMIT")
        done = await exchange
        print(
            f"read answered after {read_at * 1000:.0f} ms; write done {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        assert done.outcome is ExchangeOutcome.ROTATED
    finally:
        other.close()


@pytest.mark.anyio
async def test_a_write_lock_held_past_the_busy_bound_is_503(sqlite_repo: SqlRepository) -> None:
    db = sqlite_repo.db
    loop_connection = db._sqlite
    assert isinstance(loop_connection, LoopConnection)
    loop_connection.busy_seconds = 0.2
    path = db.url.database
    assert path
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceUnavailable):
            await sqlite_repo.create_user(user())
    finally:
        other.close()
    await sqlite_repo.create_user(user())  # released: writes go through again
