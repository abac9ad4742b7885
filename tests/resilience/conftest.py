"""Fixtures of the resilience tests: the real service as uvicorn subprocesses on loopback ports.

Each test's database is SQLite in its temporary folder and, when ``AUTHSPEC_TEST_POSTGRES_URL``
is set, PostgreSQL in a schema of its own (dropped afterwards). Codes reach the test through
``AUTHSPEC_MAIL_BACKEND=smtp`` and an aiosmtpd sink started here. Servers are real processes,
so a test can SIGKILL one and start another on the same database.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from authspec.keys import Keyring
from contract_tests.mailbox import SmtpSink
from tests.helpers import BACKENDS, POSTGRES_URL, ServerProcess, clean_env, free_port, uvicorn_factory

API = "/api/v1"


#: High enough that only the tests about limits meet them (every client is on loopback).
SERVER_DEFAULTS = {
    "AUTHSPEC_MAIL_BACKEND": "smtp",
    "AUTHSPEC_SMTP_HOST": "127.0.0.1",
    "AUTHSPEC_CODE_IP_LIMIT": "100000",
    "AUTHSPEC_VERIFY_IP_LIMIT": "100000",
    "AUTHSPEC_CODE_RESEND_AFTER": "0",
    "AUTHSPEC_CODE_MAILBOX_HOURLY": "0",
}


@pytest.fixture(scope="session")
def mailbox() -> Iterator[tuple[SmtpSink, int]]:
    """The SMTP sink the servers send their code emails to (the contract suite's), and its port."""
    sink = SmtpSink("127.0.0.1", free_port()).start()
    try:
        yield sink, sink.port
    finally:
        sink.stop()


def uvicorn_server(env: dict[str, str], log: Path, factory: str = "authspec.handlers.app:create_app") -> ServerProcess:
    """The real service (or the mock) under ``uvicorn --factory`` on a free port, unbounded so a test
    can SIGKILL it; ready once ``/readyz`` answers 200."""
    return ServerProcess(partial(uvicorn_factory, factory), env=env, log=log, probe="/readyz")


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The ``AUTHSPEC_*`` variables naming the test's database."""
    if request.param == "sqlite":
        yield {"AUTHSPEC_DATABASE_URL": f"sqlite:///{tmp_path / 'authspec.db'}"}
        return
    assert POSTGRES_URL
    schema = f"authspec_r_{uuid.uuid4().hex[:16]}"
    yield {"AUTHSPEC_DATABASE_URL": POSTGRES_URL, "AUTHSPEC_DATABASE_SCHEMA": schema}
    asyncio.run(drop_schema(POSTGRES_URL, schema))


async def drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def server_env(database: dict[str, str], key_file: Path, smtp_port: int, **overrides: str) -> dict[str, str]:
    env = clean_env()
    env.update(SERVER_DEFAULTS)
    env.update(database)
    env["AUTHSPEC_JWT_PRIVATE_KEY_FILE"] = str(key_file)
    env["AUTHSPEC_SMTP_PORT"] = str(smtp_port)
    env.update(overrides)
    return env


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.pem"
    Keyring.generate().save(path)
    return path


@pytest.fixture
def start_server(
    database: dict[str, str], key_file: Path, mailbox: tuple[SmtpSink, int], tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """``start_server(**AUTHSPEC_overrides)``: one more service process on the test's database."""
    started: list[ServerProcess] = []

    def start(**overrides: str) -> ServerProcess:
        env = server_env(database, key_file, mailbox[1], **overrides)
        server = uvicorn_server(env, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


def login(api: str, box: SmtpSink, email: str, *, client: httpx.Client | None = None) -> dict[str, Any]:
    """Log ``email`` in through the service at ``api`` (registering it when new): ``data.tokens``."""
    http = client or httpx.Client(timeout=30)
    try:
        sent = http.post(f"{api}/auth/email/request-code", json={"email": email})
        assert sent.status_code == 200, sent.text
        verified = http.post(f"{api}/auth/email/verify", json={"email": email, "code": box.code_for(email)})
        assert verified.status_code == 200, verified.text
        data = verified.json()["data"]
        if data["status"] == "registration_required":
            body = {"registrationToken": data["registrationToken"], "firstName": "Ada", "lastName": "Lovelace"}
            registered = http.post(f"{api}/auth/register", json=body)
            assert registered.status_code == 201, registered.text
            data = registered.json()["data"]
        tokens: dict[str, Any] = data["tokens"]
        return tokens
    finally:
        if client is None:
            http.close()


def rows(database: dict[str, str], table: Any) -> list[dict[str, Any]]:
    """Every row of ``table`` in the test's database, read on a connection of the test's own."""
    from sqlalchemy import select

    from authspec.storage.engine import Database

    async def fetch() -> list[dict[str, Any]]:
        db = Database(database["AUTHSPEC_DATABASE_URL"], schema=database.get("AUTHSPEC_DATABASE_SCHEMA"))
        try:
            async with db.read() as conn:
                return [dict(row._mapping) for row in await conn.execute(select(table))]
        finally:
            await db.dispose()

    return asyncio.run(fetch())
