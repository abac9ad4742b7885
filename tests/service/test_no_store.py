"""Answers that carry a credential are never cached, on the real service (RFC 6749 §5.1, RFC 9111).

verifyEmailCode (both outcomes), completeRegistration and refreshToken answer with exactly
``Cache-Control: no-store`` and ``Pragma: no-cache``, as the contract declares on those responses;
answers without a credential, errors included, carry neither (``authspec.fixed_headers``).
"""

from __future__ import annotations

import httpx

from tests.helpers import assert_error
from tests.service.support import Api, data

EMAIL = "ada@example.com"


def caching(response: httpx.Response) -> dict[str, list[str]]:
    return {name: response.headers.get_list(name) for name in ("cache-control", "pragma")}


NO_STORE = {"cache-control": ["no-store"], "pragma": ["no-cache"]}
NONE: dict[str, list[str]] = {"cache-control": [], "pragma": []}


def test_verify_register_and_refresh_answers_are_no_store(api: Api) -> None:
    required = api.verify(EMAIL, api.request_code(EMAIL))
    assert data(required)["status"] == "registration_required"
    assert caching(required) == NO_STORE
    body = {"registrationToken": data(required)["registrationToken"], "firstName": "Ada", "lastName": "Lovelace"}
    registered = api.post("/auth/register", body)
    assert caching(registered) == NO_STORE
    refreshed = api.refresh(data(registered, 201)["tokens"]["refreshToken"])
    assert data(refreshed)["tokenType"] == "Bearer"
    assert caching(refreshed) == NO_STORE
    authenticated = api.verify(EMAIL, api.request_code(EMAIL))
    assert data(authenticated)["status"] == "authenticated"
    assert caching(authenticated) == NO_STORE


def test_answers_without_a_credential_and_errors_carry_no_cache_headers(api: Api) -> None:
    sent = api.post("/auth/email/request-code", {"email": EMAIL})
    assert data(sent)["expiresIn"] == 300
    assert caching(sent) == NONE
    wrong = api.verify(EMAIL, "000000" if api.mailer.last_code(EMAIL) != "000000" else "111111")
    assert_error(wrong, 401, "invalid_code")
    assert caching(wrong) == NONE
    unknown = api.refresh("x" * 43)
    assert_error(unknown, 401, "invalid_refresh_token")
    assert caching(unknown) == NONE
    invalid = api.post("/auth/register", {"registrationToken": "x" * 43})
    assert_error(invalid, 400, "validation_failed")
    assert caching(invalid) == NONE
