"""The per-mailbox limits (issue 13): the resend cooldown and the hourly cap on codes sent are
keyed on the mailbox — the address without its ``+tag``, lower case — so a flood of ``+tag``
variants sends at most the cap; the account stays the exact address. On SQLite and PostgreSQL
with the database limiter, and with the Redis limiter when ``AUTHSPEC_TEST_REDIS_URL`` is set."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from authspec.services.auth import mailbox_of
from authspec.settings import Settings
from tests.helpers import assert_error
from tests.service.conftest import REDIS_URL
from tests.service.support import Api, data

CAP = 5


@pytest.fixture(params=["database", "redis"])
def limits(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "database":
        return {}
    if not REDIS_URL:
        pytest.skip("AUTHSPEC_TEST_REDIS_URL is not set")
    return {"redis_url": REDIS_URL}


def mailbox() -> tuple[str, str]:
    """A local part and domain of this test alone (Redis keys outlive a test's database)."""
    return f"bomb{uuid.uuid4().hex[:12]}", "example.com"


def ask(api: Api, email: str) -> int:
    return api.post("/auth/email/request-code", {"email": email}).status_code


def test_the_mailbox_is_the_address_without_its_tag_in_lower_case() -> None:
    assert mailbox_of("bomb+1@example.com") == "bomb@example.com"
    assert mailbox_of("bomb+a+b@example.com") == "bomb@example.com"
    assert mailbox_of("Bomb+X@Example.COM") == "bomb@example.com"
    assert mailbox_of("bomb@example.com") == "bomb@example.com"
    assert mailbox_of("+only@example.com") == "@example.com"


def test_the_default_cap_is_five_an_hour() -> None:
    assert Settings().code_mailbox_hourly == 5


def test_tag_variants_share_the_cooldown(make_api: Callable[..., Api], limits: dict[str, Any]) -> None:
    api = make_api(code_mailbox_hourly=CAP, **limits)
    local, domain = mailbox()
    statuses = [ask(api, f"{local}+{n}@{domain}") for n in range(20)]
    assert statuses == [200] + [429] * 19
    assert len(api.mailer.outbox) == 1
    assert api.mailer.outbox[0].to == f"{local}+0@{domain}"  # mailed to the exact address


def test_a_flood_of_tag_variants_sends_at_most_the_cap(make_api: Callable[..., Api], limits: dict[str, Any]) -> None:
    # No cooldown, so only the hourly cap stands between the flood and the inbox (Redis keeps its
    # own clock: this test does not move time).
    api = make_api(code_mailbox_hourly=CAP, code_resend_after=0, **limits)
    local, domain = mailbox()
    variants = [f"{local}+{n}@{domain}" for n in range(30)] + [f"{local.upper()}@{domain.upper()}"]
    statuses = [ask(api, email) for email in variants]
    assert statuses == [200] * CAP + [429] * (len(variants) - CAP)
    assert len(api.mailer.outbox) == CAP
    assert {m.to for m in api.mailer.outbox} == {f"{local}+{n}@{domain}" for n in range(CAP)}
    refused = api.post("/auth/email/request-code", {"email": f"{local}+x@{domain}"})
    body = assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600, body
    other = f"other{uuid.uuid4().hex[:12]}@{domain}"
    assert ask(api, other) == 200  # another mailbox is not affected


def test_the_cap_counts_an_hour_on_the_service_clock(make_api: Callable[..., Api]) -> None:
    api = make_api(code_mailbox_hourly=CAP)  # the database limiter follows the injected clock
    local, domain = mailbox()
    statuses = []
    for n in range(12):  # one request per cooldown, for 12 minutes
        statuses.append(ask(api, f"{local}+{n}@{domain}"))
        api.clock.advance(api.settings.code_resend_after)
    assert statuses == [200] * CAP + [429] * (12 - CAP)
    refused = api.post("/auth/email/request-code", {"email": f"{local}@{domain}"})
    assert_error(refused, 429, "rate_limited")
    wait = int(refused.headers["Retry-After"])
    assert wait == 3600 - 12 * api.settings.code_resend_after
    api.clock.advance(wait)
    assert ask(api, f"{local}@{domain}") == 200
    assert len(api.mailer.outbox) == CAP + 1


def test_the_account_is_the_exact_address(make_api: Callable[..., Api]) -> None:
    api = make_api(code_mailbox_hourly=CAP)
    local, domain = mailbox()
    plain, tagged = f"{local}@{domain}", f"{local}+work@{domain}"
    login = api.login(plain)
    api.clock.advance(api.settings.code_resend_after)
    result = data(api.verify(tagged, api.request_code(tagged)))
    assert result["status"] == "registration_required"  # a tag is another account
    assert data(api.get("/auth/me", login.access))["email"] == plain
