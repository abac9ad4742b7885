"""The mock's per-account lockout (issue 13): the same services lock an email after the configured
number of voided codes, on the mock's movable clock, with the same answers as the service."""

from __future__ import annotations

from starlette.testclient import TestClient

from authspec.settings import Settings
from tests.mock.flows import ADA, API, advance, request_code


def void_a_code(client: TestClient, email: str) -> None:
    code = request_code(client, email)
    guess = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [
        client.post(f"{API}/auth/email/verify", json={"email": email, "code": guess}).status_code
        for _ in range(Settings().code_max_attempts)
    ]
    assert answers == [401] * (len(answers) - 1) + [429]


def test_voided_codes_lock_the_email_on_the_mock(client: TestClient) -> None:
    s = Settings()
    for _ in range(s.code_lockout_after):
        void_a_code(client, ADA)
        advance(client, s.code_resend_after)
    asked = client.post(f"{API}/auth/email/request-code", json={"email": ADA})
    assert (asked.status_code, asked.json()["errorCode"]) == (429, "rate_limited")
    assert int(asked.headers["Retry-After"]) == s.code_lockout_seconds - s.code_resend_after
    verified = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": "123456"})
    assert (verified.status_code, verified.json()["errorCode"]) == (429, "rate_limited")
    advance(client, int(asked.headers["Retry-After"]))
    code = request_code(client, ADA)  # the lock is over
    verified = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code})
    assert verified.json()["data"]["status"] == "authenticated"
