"""Per-request control with ``Prefer``: code, example, dynamic and delay."""

from __future__ import annotations

import asyncio

import authspec.mock.middleware as mock_middleware
import pytest
from starlette.testclient import TestClient

from tests.mock.flows import ADA, API, bearer, login


def test_prefer_code_answers_the_declared_example_of_that_status(client: TestClient) -> None:
    conflict = client.post(
        f"{API}/auth/register",
        json={"registrationToken": "Z" * 43, "firstName": "A", "lastName": "B"},
        headers={"Prefer": "code=409"},
    )
    assert conflict.status_code == 409 and conflict.json()["errorCode"] == "already_registered"
    assert conflict.headers["preference-applied"] == "code=409"
    limited = client.post(f"{API}/auth/email/request-code", json={"email": ADA}, headers={"Prefer": "code=429"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # The world was not touched: no code was sent.
    assert client.get("/__mock/outbox").json()["data"] == []


def test_prefer_example_picks_a_named_example(client: TestClient) -> None:
    reused = client.post(
        f"{API}/auth/refresh", json={"refreshToken": "A" * 43}, headers={"Prefer": "example=refresh_token_reused"}
    )
    assert reused.status_code == 401 and reused.json()["errorCode"] == "refresh_token_reused"
    registration = client.post(
        f"{API}/auth/email/verify",
        json={"email": ADA, "code": "123456"},
        headers={"Prefer": "code=200, example=registration_required"},
    )
    assert registration.status_code == 200 and registration.json()["data"]["status"] == "registration_required"
    missing = client.post(f"{API}/auth/refresh", json={"refreshToken": "A" * 43}, headers={"Prefer": "example=nope"})
    assert missing.status_code == 400 and "nope" in missing.json()["errors"][1]


def test_prefer_dynamic_generates_valid_data(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    first = client.get(f"{API}/auth/sessions", headers={**bearer(tokens), "Prefer": "dynamic=true"})
    assert first.status_code == 200 and first.headers["preference-applied"] == "dynamic=true"
    sessions = first.json()["data"]
    assert sessions and all(len(s["id"]) == 36 for s in sessions)
    # Deterministic: the same operation and status give the same data.
    second = client.get(f"{API}/auth/sessions", headers={**bearer(tokens), "Prefer": "dynamic=true"})
    assert second.json()["data"] == sessions
    error = client.get(f"{API}/auth/me", headers={**bearer(tokens), "Prefer": "code=401, dynamic=true"})
    assert error.status_code == 401 and error.json()["errorCode"] == "authentication_required"
    jwks = client.get("/.well-known/jwks.json", headers={"Prefer": "dynamic=true"})
    assert jwks.status_code == 200 and "keys" in jwks.json()


def test_prefer_still_validates_and_authenticates(client: TestClient) -> None:
    invalid = client.post(f"{API}/auth/email/request-code", json={"email": "nope"}, headers={"Prefer": "code=200"})
    assert invalid.status_code == 400
    anonymous = client.get(f"{API}/auth/me", headers={"Prefer": "code=200"})
    assert anonymous.status_code == 401


def test_prefer_delay_sleeps_that_long_on_answers_and_errors(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(mock_middleware.asyncio, "sleep", recording_sleep)
    delayed = client.get("/.well-known/jwks.json", headers={"Prefer": "delay=250"})
    assert delayed.status_code == 200 and delayed.headers["preference-applied"] == "delay=250"
    error = client.get(f"{API}/auth/me", headers={"Prefer": "delay=100"})  # errors are delayed too
    assert error.status_code == 401
    assert slept == [0.25, 0.1]


@pytest.mark.parametrize(
    "prefer",
    ["code=abc", "code=99", "delay=-1", "delay=999999", "dynamic=maybe", "code=404"],
)
def test_bad_or_undeclared_preferences_are_400(client: TestClient, prefer: str) -> None:
    refused = client.post(f"{API}/auth/email/request-code", json={"email": ADA}, headers={"Prefer": prefer})
    assert refused.status_code == 400 and refused.json()["errorCode"] == "validation_failed"
    assert "Prefer" in refused.json()["errors"][1] or "declare" in refused.json()["errors"][1]


def test_unknown_preferences_are_ignored(client: TestClient) -> None:
    answered = client.post(
        f"{API}/auth/email/request-code", json={"email": ADA}, headers={"Prefer": "return=minimal, respond-async"}
    )
    assert answered.status_code == 200 and "preference-applied" not in answered.headers
    assert len(client.get("/__mock/outbox").json()["data"]) == 1
