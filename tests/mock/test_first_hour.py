"""The first hour with the mock: docs redirects, namespace hints on 401, the outbox's ``usable``,
the request log's ``errorCode``, and no Bearer challenge where no bearer token is asked for."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import assert_error
from tests.mock.flows import ADA, API, advance, bearer, login, request_code


@pytest.mark.parametrize(
    ("path", "target"),
    [("/", "/api/v1/docs/"), ("/docs", "/api/v1/docs/"), ("/__mock", "/__mock/docs/"), ("/__mock/", "/__mock/docs/")],
)
def test_short_addresses_redirect_to_the_docs(client: TestClient, path: str, target: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, target)
    assert client.get(path).status_code == 200  # the docs page itself


def test_other_unknown_paths_are_still_404_envelopes(client: TestClient) -> None:
    body = assert_error(client.get("/nope"), 404, "not_found")
    assert body["errors"] == ["Resource not found", "No route matches GET /nope"]
    assert_error(client.get("/__mock/nope"), 404, "not_found")


def _in(namespace: str) -> dict[str, str]:
    return {"X-Mock-Namespace": namespace}


def test_an_access_token_of_another_namespace_names_it(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    issued_in = client.headers["X-Mock-Namespace"]
    elsewhere = client.get(f"{API}/auth/me", headers={**bearer(tokens), **_in(f"{issued_in}-other")})
    body = assert_error(elsewhere, 401, "session_ended")
    assert body["errors"][1] == (
        f"This access token was issued in mock namespace {issued_in!r}; send X-Mock-Namespace: {issued_in}"
    )
    assert elsewhere.headers["www-authenticate"].startswith("Bearer")
    assert client.get(f"{API}/auth/me", headers=bearer(tokens)).status_code == 200  # at home it works


def test_a_token_of_the_default_namespace_says_so_and_that_no_header_works(client: TestClient) -> None:
    del client.headers["X-Mock-Namespace"]
    try:
        tokens = login(client)["tokens"]
    finally:
        client.headers["X-Mock-Namespace"] = "t-default-probe"
    body = assert_error(client.get(f"{API}/auth/me", headers=bearer(tokens)), 401, "session_ended")
    assert body["errors"][1] == (
        "This access token was issued in mock namespace 'default'; send X-Mock-Namespace: default (or no header)"
    )


def test_a_refresh_token_of_another_namespace_names_it(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    issued_in = client.headers["X-Mock-Namespace"]
    refused = client.post(
        f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]}, headers=_in(f"{issued_in}-other")
    )
    body = assert_error(refused, 401, "invalid_refresh_token")
    assert body["errors"][1] == (
        f"This refresh token was issued in mock namespace {issued_in!r}; send X-Mock-Namespace: {issued_in}"
    )
    unknown = client.post(f"{API}/auth/refresh", json={"refreshToken": "x" * 43})
    assert assert_error(unknown, 401, "invalid_refresh_token")["errors"][1] == (
        "The refresh token is invalid, expired or revoked"
    )


def _usable(client: TestClient) -> list[bool]:
    return [entry["usable"] for entry in client.get("/__mock/outbox").json()["data"]]


def test_outbox_codes_are_usable_until_used(client: TestClient) -> None:
    code = request_code(client, ADA)
    assert _usable(client) == [True]
    assert client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code}).status_code == 200
    assert _usable(client) == [False]


def test_outbox_codes_stop_being_usable_when_superseded(client: TestClient) -> None:
    request_code(client, ADA)
    advance(client, 61)  # past the resend cooldown
    request_code(client, ADA)
    assert _usable(client) == [False, True]


def test_outbox_codes_stop_being_usable_when_the_mock_clock_expires_them(client: TestClient) -> None:
    request_code(client, ADA)
    advance(client, 300)
    assert _usable(client) == [False]


def test_outbox_codes_stop_being_usable_when_locked_by_wrong_attempts(client: TestClient) -> None:
    code = request_code(client, ADA)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [
        client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": wrong}).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]
    assert _usable(client) == [False]


def _log(client: TestClient) -> list[dict[str, Any]]:
    logged: list[dict[str, Any]] = client.get("/__mock/requests").json()["data"]
    return logged


def test_the_request_log_shows_each_answers_error_code(client: TestClient) -> None:
    request_code(client, ADA)
    client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": "12"})
    client.get(f"{API}/auth/me")
    assert [(e["operationId"], e["status"], e["errorCode"]) for e in _log(client)] == [
        ("requestEmailCode", 200, None),
        ("verifyEmailCode", 400, "validation_failed"),
        ("getCurrentUser", 401, "authentication_required"),
    ]


def test_the_request_log_leaves_the_docs_redirect_out(client: TestClient) -> None:
    client.get("/", follow_redirects=False)
    assert _log(client) == []


def test_a_wrong_code_gets_no_bearer_challenge(client: TestClient) -> None:
    code = request_code(client, ADA)
    refused = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert_error(refused, 401, "invalid_code")
    assert "www-authenticate" not in refused.headers
