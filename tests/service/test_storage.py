"""The storage contract on SQLite and PostgreSQL (and the Redis limiter when
``AUTHSPEC_TEST_REDIS_URL`` is set), plus the migrations: they build exactly the tables the code
uses, run idempotently, and ``authspec migrate`` applies them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from authspec.cli import main
from authspec.storage.engine import Database, DatabaseUrlError, async_url
from authspec.storage.limits import RedisRateLimiter, SqlRateLimiter
from authspec.storage.migrate import current_revision, head_revision, upgrade
from authspec.storage.repository import SqlRepository
from authspec.storage.tables import metadata
from tests.service.conftest import Target
from tests.service.storage_contract import RateLimiterContract, RepositoryContract

REDIS_URL = os.environ.get("AUTHSPEC_TEST_REDIS_URL")


@pytest.fixture
async def database(target: Target) -> AsyncIterator[Database]:
    db = Database(target.url, schema=target.schema)
    await upgrade(db)
    yield db
    await db.dispose()


class TestSqlRepository(RepositoryContract):
    @pytest.fixture
    async def repo(self, database: Database) -> SqlRepository:
        return SqlRepository(database)


class TestSqlRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def limiter(self, database: Database) -> SqlRateLimiter:
        return SqlRateLimiter(database)


@pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set")
class TestRedisRateLimiter(RateLimiterContract):
    follows_clock = False

    @pytest.fixture
    async def limiter(self) -> AsyncIterator[RedisRateLimiter]:
        assert REDIS_URL
        limiter = RedisRateLimiter.from_url(REDIS_URL)
        limiter.prefix = "authspec-test:"
        yield limiter
        await limiter.close()


# -- migrations -------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_migrations_build_the_tables_the_code_uses(database: Database) -> None:
    def differences(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with database.read() as conn:
        assert await conn.run_sync(differences) == []
    assert await current_revision(database) == head_revision()


@pytest.mark.anyio
async def test_migrations_are_idempotent(database: Database) -> None:
    assert await upgrade(database) == head_revision()
    assert await upgrade(database) == head_revision()


def test_migrate_command(target: Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", target.url)
    if target.schema:
        monkeypatch.setenv("AUTHSPEC_DATABASE_SCHEMA", target.schema)
    assert main(["migrate"]) == 0
    assert "upgraded the database from empty to" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_migrate_command_with_a_bad_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", "mysql://localhost/x")
    assert main(["migrate"]) == 2
    assert "unsupported database 'mysql'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///authspec.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_database_urls_become_async(given: str, driver: str) -> None:
    assert async_url(given).drivername == driver


@pytest.mark.parametrize("bad", ["mysql://h/db", "postgresql+psycopg2://h/db", "not a url"])
def test_unusable_database_urls_are_refused(bad: str) -> None:
    with pytest.raises(DatabaseUrlError):
        async_url(bad)
