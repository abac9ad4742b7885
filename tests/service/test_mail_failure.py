"""A code email that could not be sent: 503, the resend cooldown is not spent, the email's live code
is not superseded, and the attempt still counts against the client IP's limit. On SQLite and
PostgreSQL, and with Redis limits when ``AUTHSPEC_TEST_REDIS_URL`` is set."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from authspec.handlers.app import create_app
from starlette.testclient import TestClient

from authspec.clock import MovableClock
from authspec.mail.memory import MemoryMailer
from authspec.services.ports import CodeMessage
from authspec.settings import Settings
from tests.helpers import assert_error
from tests.service.conftest import REDIS_URL
from tests.service.support import API, data


class FlakyMailer(MemoryMailer):
    """Fails the next ``failures`` sends (as an SMTP server that is away would), then delivers."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def send(self, message: CodeMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the mail server is away")
        await super().send(message)


@pytest.fixture(params=["database", "redis"])
def limits(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "database":
        return {}
    if not REDIS_URL:
        pytest.skip("AUTHSPEC_TEST_REDIS_URL is not set")
    return {"redis_url": REDIS_URL}


@pytest.fixture
def service(
    make_settings: Callable[..., Settings], clock: MovableClock, limits: dict[str, Any]
) -> Iterator[Callable[..., tuple[TestClient, FlakyMailer]]]:
    opened: list[TestClient] = []

    def start(**overrides: Any) -> tuple[TestClient, FlakyMailer]:
        mailer = FlakyMailer()
        app = create_app(make_settings(**limits, **overrides), clock=clock, mailer=mailer)
        # A client IP of its own: Redis windows are shared by every test run on that server.
        ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        client = TestClient(app, raise_server_exceptions=False, client=(ip, 50000))
        opened.append(client.__enter__())
        return client, mailer

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def request_code(client: TestClient, email: str) -> Any:
    return client.post(API + "/auth/email/request-code", json={"email": email})


def an_email() -> str:
    return f"ada-{uuid.uuid4().hex[:12]}@example.com"  # Redis windows outlive the test's database


def test_a_failed_send_does_not_spend_the_cooldown(service: Callable[..., tuple[TestClient, FlakyMailer]]) -> None:
    client, mailer = service()
    email = an_email()
    mailer.failures = 1
    assert_error(request_code(client, email), 503, "service_unavailable")
    assert mailer.outbox == []
    data(request_code(client, email))  # right after the failure: mailed, not 429
    assert [m.to for m in mailer.outbox] == [email]
    assert_error(request_code(client, email), 429, "rate_limited")  # the delivered one did spend it


def test_a_failed_send_leaves_the_live_code_working(service: Callable[..., tuple[TestClient, FlakyMailer]]) -> None:
    client, mailer = service(code_resend_after=0)  # a resend at once (Redis windows ignore the test clock)
    email = an_email()
    data(request_code(client, email))
    delivered = mailer.last_code(email)
    mailer.failures = 1  # the resend's mail fails
    assert_error(request_code(client, email), 503, "service_unavailable")
    result = data(client.post(API + "/auth/email/verify", json={"email": email, "code": delivered}))
    assert result["status"] == "registration_required"


def test_a_failed_send_still_counts_against_the_ip_limit(
    service: Callable[..., tuple[TestClient, FlakyMailer]],
) -> None:
    client, mailer = service(code_ip_limit=2)
    mailer.failures = 1
    assert_error(request_code(client, an_email()), 503, "service_unavailable")
    data(request_code(client, an_email()))
    assert_error(request_code(client, an_email()), 429, "rate_limited")  # the failed attempt was the first of 2
