"""Outages of what the service depends on answer 503 ``service_unavailable`` in the envelope, never a
500 or a hang: PostgreSQL blackholed (the connect, statement and pool timeouts bound every wait),
Redis refusing or blackholed (its socket timeouts, and the limiter's mapping of Redis errors).
A ``tests.proxy.TcpProxy`` between the service and the dependency fails it on cue; the service
started (and logged in) while it forwarded. The measured times are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from authspec.handlers.app import create_app
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from authspec.clock import MovableClock
from authspec.mail.memory import MemoryMailer
from authspec.settings import Settings
from tests.helpers import POSTGRES_URL, assert_error
from tests.proxy import TcpProxy
from tests.service.conftest import REDIS_URL, TEST_DEFAULTS, _drop_schema
from tests.service.support import START, Api

#: The bound each test configures (the defaults are 5 s).
TIMEOUT = 2.0

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set: no Redis to use")


def proxy_to(url: str, default_port: int) -> tuple[TcpProxy, str]:
    """A started proxy to ``url``'s server, and ``url`` pointing at the proxy instead."""
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or default_port).start()
    return proxy, parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """``make_api(**settings)``: the service in a TestClient, with the test's bounds and mail in memory."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> Api:
        values = {
            **TEST_DEFAULTS,
            "database_url": f"sqlite:///{tmp_path / 'authspec.db'}",
            "jwt_private_key_file": tmp_path / "keys.pem",
            "database_connect_timeout": TIMEOUT,
            "database_statement_timeout": TIMEOUT,
            "redis_timeout": TIMEOUT,
            **overrides,
        }
        clock = MovableClock(frozen_at=START)
        app = create_app(Settings(**values), clock=clock, mailer=MemoryMailer())
        client = TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 50000))
        client.__enter__()
        opened.append(client)
        return Api(app, client, app.authspec.extras["mailer"], clock)

    yield make
    for client in reversed(opened):
        client.__exit__(None, None, None)


def timed(call: Callable[[], Any], what: str) -> Any:
    started = time.perf_counter()
    answer = call()
    print(f"{what}: {answer.status_code} after {time.perf_counter() - started:.2f} s")
    return answer


# -- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.fixture
def blackholed_postgres() -> Iterator[tuple[TcpProxy, dict[str, Any]]]:
    """A proxy to the test PostgreSQL and the settings that reach it through the proxy (own schema)."""
    assert POSTGRES_URL
    proxy, url = proxy_to(POSTGRES_URL, 5432)
    schema = f"authspec_o_{uuid.uuid4().hex[:16]}"
    try:
        yield proxy, {"database_url": url, "database_schema": schema}
    finally:
        proxy.refuse()  # the service's pool lets go of its blackholed connections at once
        proxy.stop()
        asyncio.run(_drop_schema(POSTGRES_URL, schema))


@needs_postgres
@pytest.mark.postgres
def test_an_authenticated_request_answers_503_when_postgres_is_blackholed(
    make_api: Callable[..., Api], blackholed_postgres: tuple[TcpProxy, dict[str, Any]]
) -> None:
    proxy, database = blackholed_postgres
    api = make_api(**database)
    login = api.login("outage@example.com")
    assert len(api.sessions(login)) == 1

    proxy.blackhole()
    answer = timed(lambda: api.get("/auth/sessions", login.access), "GET /auth/sessions, PostgreSQL blackholed")
    assert_error(answer, 503, "service_unavailable")
    # No connection of the pool still works: a fresh one is accepted by the proxy and never answered.
    again = timed(lambda: api.get("/auth/me", login.access), "GET /auth/me, PostgreSQL blackholed")
    assert_error(again, 503, "service_unavailable")


@needs_postgres
@pytest.mark.postgres
def test_a_code_request_answers_503_when_postgres_is_blackholed(
    make_api: Callable[..., Api], blackholed_postgres: tuple[TcpProxy, dict[str, Any]]
) -> None:
    proxy, database = blackholed_postgres
    api = make_api(**database)
    api.request_code("early@example.com")

    proxy.blackhole()
    body = {"email": "outage@example.com"}
    answer = timed(lambda: api.post("/auth/email/request-code", body), "POST request-code, PostgreSQL blackholed")
    assert_error(answer, 503, "service_unavailable")
    assert [m.to for m in api.mailer.outbox] == ["early@example.com"]  # nothing sent while it was away


@needs_postgres
@pytest.mark.postgres
def test_the_pool_recovers_when_postgres_answers_again(
    make_api: Callable[..., Api], blackholed_postgres: tuple[TcpProxy, dict[str, Any]]
) -> None:
    # More timed-out checkouts than the pool holds: none of them may keep a connection for good.
    proxy, database = blackholed_postgres
    api = make_api(**database, database_pool_size=2, database_max_overflow=0, database_connect_timeout=1)
    login = api.login("back@example.com")
    proxy.blackhole()
    for _ in range(4):
        assert_error(api.get("/auth/me", login.access), 503, "service_unavailable")
    proxy.forward()
    assert len(api.sessions(login)) == 1


@needs_postgres
@pytest.mark.postgres
def test_a_statement_past_the_statement_timeout_answers_503(
    make_api: Callable[..., Api], blackholed_postgres: tuple[TcpProxy, dict[str, Any]]
) -> None:
    from authspec.errors import ServiceUnavailable

    _proxy, database = blackholed_postgres
    api = make_api(**database, database_statement_timeout=0.2)
    db = api.app.authspec.extras["storage"].db

    async def slow() -> None:
        from sqlalchemy import text

        async with db.read() as conn:
            await conn.execute(text("SELECT pg_sleep(2)"))

    with pytest.raises(ServiceUnavailable):
        api.client.portal.call(slow)  # type: ignore[union-attr]


# -- Redis ----------------------------------------------------------------------------------------------


@pytest.fixture
def redis_proxy() -> Iterator[tuple[TcpProxy, str]]:
    assert REDIS_URL
    proxy, url = proxy_to(REDIS_URL, 6379)
    try:
        yield proxy, url
    finally:
        proxy.stop()


@needs_redis
@pytest.mark.parametrize("failure", ["refused", "blackholed"])
def test_a_redis_outage_answers_503_on_code_requests_and_readiness(
    make_api: Callable[..., Api], redis_proxy: tuple[TcpProxy, str], failure: str
) -> None:
    proxy, url = redis_proxy
    api = make_api(redis_url=url)
    api.request_code(f"early-{uuid.uuid4().hex}@example.com")
    assert api.client.get("/readyz").status_code == 200

    if failure == "refused":
        proxy.refuse()
    else:
        proxy.blackhole()
    body = {"email": f"outage-{uuid.uuid4().hex}@example.com"}
    answer = timed(lambda: api.post("/auth/email/request-code", body), f"POST request-code, Redis {failure}")
    assert_error(answer, 503, "service_unavailable")
    ready = timed(lambda: api.client.get("/readyz"), f"GET /readyz, Redis {failure}")
    assert_error(ready, 503, "service_unavailable")
