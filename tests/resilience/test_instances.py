"""Two instances of the service (separate processes) on one PostgreSQL database share the rate
limits and the revocations: a client cannot get around a limit, or keep using a revoked session,
by being balanced onto the other instance. Each part uses its own loopback source address
(127.0.0.x), so its per-IP budget is its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from contract_tests.mailbox import SmtpSink
from tests.resilience.conftest import POSTGRES_URL, ServerProcess, login

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL to use"),
]

CODE_IP_LIMIT = 4


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[dict[str, str]]:
    import asyncio
    import uuid

    from tests.resilience.conftest import drop_schema

    assert POSTGRES_URL
    schema = f"authspec_r_{uuid.uuid4().hex[:16]}"
    yield {"AUTHSPEC_DATABASE_URL": POSTGRES_URL, "AUTHSPEC_DATABASE_SCHEMA": schema}
    asyncio.run(drop_schema(POSTGRES_URL, schema))


@pytest.fixture
def pair(start_server: Callable[..., ServerProcess]) -> tuple[ServerProcess, ServerProcess]:
    limits = {"AUTHSPEC_CODE_IP_LIMIT": str(CODE_IP_LIMIT), "AUTHSPEC_CODE_RESEND_AFTER": "60"}
    return start_server(**limits), start_server(**limits)


@contextmanager
def client_from(address: str) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as client:
        yield client


def test_the_resend_cooldown_holds_across_instances(pair: tuple[ServerProcess, ServerProcess]) -> None:
    one, two = pair
    with client_from("127.0.0.2") as http:
        assert http.post(f"{one.api}/auth/email/request-code", json={"email": "cool@example.com"}).status_code == 200
        again = http.post(f"{two.api}/auth/email/request-code", json={"email": "cool@example.com"})
    assert again.status_code == 429 and again.json()["errorCode"] == "rate_limited"
    assert int(again.headers["Retry-After"]) > 0


def test_the_per_ip_limit_is_one_budget_for_both_instances(pair: tuple[ServerProcess, ServerProcess]) -> None:
    one, two = pair
    with client_from("127.0.0.3") as http:
        answers = [
            http.post(f"{(one, two)[n % 2].api}/auth/email/request-code", json={"email": f"ip{n}@example.com"})
            for n in range(CODE_IP_LIMIT + 3)
        ]
    assert [a.status_code for a in answers] == [200] * CODE_IP_LIMIT + [429] * 3
    assert {a.json()["errorCode"] for a in answers[CODE_IP_LIMIT:]} == {"rate_limited"}


def test_a_revocation_on_one_instance_is_refused_by_the_other_at_once(
    pair: tuple[ServerProcess, ServerProcess], mailbox: tuple[SmtpSink, int]
) -> None:
    one, two = pair
    with client_from("127.0.0.4") as http:
        laptop = login(one.api, mailbox[0], "both@example.com", client=http)
        auth = {"Authorization": f"Bearer {laptop['accessToken']}"}
        assert http.get(f"{two.api}/auth/me", headers=auth).status_code == 200
        assert http.post(f"{two.api}/auth/logout", json={"scope": "current"}, headers=auth).status_code == 200
        refused = http.get(f"{one.api}/auth/me", headers=auth)
        assert refused.status_code == 401 and refused.json()["errorCode"] == "session_ended"
        stale = http.post(f"{one.api}/auth/refresh", json={"refreshToken": laptop["refreshToken"]})
        assert stale.status_code == 401
