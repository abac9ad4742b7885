"""Answers that carry a credential are never cached, in the mock too (RFC 6749 §5.1, RFC 9111).

verifyEmailCode (both outcomes), completeRegistration, refreshToken and the control API's outbox
(its codes) answer with exactly ``Cache-Control: no-store`` and ``Pragma: no-cache``, whether the
world answered or the contract did (``Prefer: example=…``, a queued scenario); answers without a
credential, errors included, carry neither.
"""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from tests.mock.flows import ADA, API, request_code

NO_STORE = {"cache-control": ["no-store"], "pragma": ["no-cache"]}
NONE: dict[str, list[str]] = {"cache-control": [], "pragma": []}


def caching(response: httpx.Response) -> dict[str, list[str]]:
    return {name: response.headers.get_list(name) for name in ("cache-control", "pragma")}


def test_verify_register_refresh_and_the_outbox_are_no_store(client: TestClient) -> None:
    email = "new@example.com"
    sent = client.post(f"{API}/auth/email/request-code", json={"email": email})
    assert sent.status_code == 200 and caching(sent) == NONE
    outbox = client.get("/__mock/outbox", params={"to": email})
    assert outbox.status_code == 200 and caching(outbox) == NO_STORE
    code = outbox.json()["data"][-1]["code"]
    required = client.post(f"{API}/auth/email/verify", json={"email": email, "code": code})
    assert required.json()["data"]["status"] == "registration_required" and caching(required) == NO_STORE
    body = {"registrationToken": required.json()["data"]["registrationToken"], "firstName": "Nova", "lastName": "P"}
    registered = client.post(f"{API}/auth/register", json=body)
    assert registered.status_code == 201 and caching(registered) == NO_STORE
    refreshed = client.post(
        f"{API}/auth/refresh", json={"refreshToken": registered.json()["data"]["tokens"]["refreshToken"]}
    )
    assert refreshed.status_code == 200 and caching(refreshed) == NO_STORE
    authenticated = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": request_code(client, ADA)})
    assert authenticated.json()["data"]["status"] == "authenticated" and caching(authenticated) == NO_STORE


def test_answers_from_the_contract_are_no_store_too(client: TestClient) -> None:
    example = client.post(
        f"{API}/auth/email/verify",
        json={"email": ADA, "code": "123456"},
        headers={"Prefer": "example=registration_required"},
    )
    assert example.status_code == 200 and example.json()["data"]["status"] == "registration_required"
    assert caching(example) == NO_STORE
    queued = client.post("/__mock/scenarios", json={"operationId": "refreshToken", "status": 200})
    assert queued.status_code == 201
    canned = client.post(f"{API}/auth/refresh", json={"refreshToken": "x" * 43})
    assert canned.status_code == 200 and caching(canned) == NO_STORE


def test_errors_and_answers_without_a_credential_carry_no_cache_headers(client: TestClient) -> None:
    unknown = client.post(f"{API}/auth/refresh", json={"refreshToken": "x" * 43})
    assert unknown.status_code == 401 and caching(unknown) == NONE
    refused = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": "12"})
    assert refused.status_code == 400 and caching(refused) == NONE
    queued = client.post("/__mock/scenarios", json={"operationId": "refreshToken", "status": 401})
    assert queued.status_code == 201 and caching(queued) == NONE
    canned = client.post(f"{API}/auth/refresh", json={"refreshToken": "x" * 43})
    assert canned.status_code == 401 and caching(canned) == NONE
    assert caching(client.get("/__mock/clock")) == NONE
