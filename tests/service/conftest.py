"""Fixtures of the real service's tests: every test runs on SQLite and, when
``AUTHSPEC_TEST_POSTGRES_URL`` is set, again on PostgreSQL in a schema of its own (dropped after)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from authspec.handlers.app import create_app
from starlette.testclient import TestClient

from authspec.clock import MovableClock
from authspec.mail.memory import MemoryMailer
from authspec.settings import Settings
from contract_tests.targets import response_validation
from tests.helpers import BACKENDS, POSTGRES_URL
from tests.service.support import START, Api

REDIS_URL = os.environ.get("AUTHSPEC_TEST_REDIS_URL")


#: Limits high enough that only the tests about limits meet them (every TestClient is one IP).
TEST_DEFAULTS: dict[str, Any] = {
    "mail_backend": "memory",
    "code_ip_limit": 10_000,
    "verify_ip_limit": 10_000,
    "code_mailbox_hourly": 10_000,
    "migrate_on_start": True,
    "purge_delay": 3600.0,  # only the housekeeping tests purge while the app runs
    **response_validation(),  # every answer checked against the contract, whatever AUTHSPEC_ENV says
}


@dataclass(frozen=True)
class Target:
    """Where a test's data lives."""

    backend: str
    url: str
    schema: str | None = None


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "sqlite":
        yield Target("sqlite", f"sqlite:///{tmp_path / 'authspec.db'}")
        return
    assert POSTGRES_URL
    schema = f"authspec_t_{uuid.uuid4().hex[:16]}"
    yield Target("postgres", POSTGRES_URL, schema)
    asyncio.run(_drop_schema(POSTGRES_URL, schema))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(frozen_at=START)


@pytest.fixture
def make_settings(target: Target, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values = {
            **TEST_DEFAULTS,
            "database_url": target.url,
            "database_schema": target.schema,
            "jwt_private_key_file": tmp_path / "keys.pem",
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture
def make_app(make_settings: Callable[..., Settings], clock: MovableClock) -> Callable[..., Any]:
    """``make_app(**settings)``: a fresh app on the test's database, clock and an in-memory outbox."""

    def make(**overrides: Any) -> Any:
        return create_app(make_settings(**overrides), clock=clock, mailer=MemoryMailer())

    return make


@pytest.fixture
def make_api(make_app: Callable[..., Any], clock: MovableClock) -> Iterator[Callable[..., Api]]:
    """``make_api(client=(ip, port), **settings)``: an app and its running TestClient."""
    opened: list[TestClient] = []

    def make(*, client: tuple[str, int] = ("203.0.113.7", 50000), **overrides: Any) -> Api:
        app = make_app(**overrides)
        test_client = TestClient(app, raise_server_exceptions=False, client=client)
        test_client.__enter__()
        opened.append(test_client)
        return Api(app, test_client, app.authspec.extras["mailer"], clock)

    yield make
    for test_client in reversed(opened):
        test_client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()
