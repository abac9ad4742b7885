"""CORS (open by default, narrowed, off; errors included), fixtures (shipped and a team's own), the dev code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from authspec.mock.fixtures import DEFAULT_FIXTURES, FixtureError, load_fixtures
from starlette.testclient import TestClient

from authspec.settings import Settings
from authspec.spec import load_bundle
from tests.mock.flows import ADA, API, bearer, login, request_code

ORIGIN = "http://localhost:3000"
MakeClient = Any


def test_the_mock_answers_any_origin_by_default_on_success_and_errors(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    ok = client.get(f"{API}/auth/me", headers={**bearer(tokens), "Origin": ORIGIN})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert ok.headers["vary"] == "Origin"
    for error in (
        client.get(f"{API}/auth/me", headers={"Origin": ORIGIN}),  # 401 from the bearer check
        client.post(f"{API}/auth/refresh", json={}, headers={"Origin": ORIGIN}),  # 400 from validation
        client.get(f"{API}/auth/me", headers={"Origin": ORIGIN, "X-Mock-Namespace": "bad name"}),  # 400 from the mock
        client.get(f"{API}/nowhere", headers={"Origin": ORIGIN}),  # 404
    ):
        assert error.status_code >= 400
        assert error.headers["access-control-allow-origin"] == ORIGIN, error.status_code
        assert error.headers["access-control-allow-credentials"] == "true"
    exposed = client.get(f"{API}/auth/me", headers={"Origin": ORIGIN}).headers["access-control-expose-headers"]
    assert {"Retry-After", "WWW-Authenticate", "Preference-Applied"} <= set(exposed.split(", "))


def test_the_mock_answers_a_preflight_with_204_allowing_the_requested_headers(client: TestClient) -> None:
    asked = client.options(
        f"{API}/auth/logout",
        headers={
            "Origin": "http://127.0.0.1:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, prefer, x-mock-namespace, x-request-id",
        },
    )
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-origin"] == "http://127.0.0.1:5173"
    assert asked.headers["access-control-allow-credentials"] == "true"
    assert asked.headers["access-control-allow-headers"] == (
        "authorization, content-type, prefer, x-mock-namespace, x-request-id"
    )
    # Preflights are not API calls: the request log leaves them out.
    assert all(e["method"] != "OPTIONS" for e in client.get("/__mock/requests").json()["data"])


def test_the_mock_answers_chromes_private_network_preflight(client: TestClient) -> None:
    asked = client.options(
        f"{API}/auth/me",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-private-network"] == "true"


def test_configured_origins_narrow_the_mock(make_client: MakeClient) -> None:
    client = make_client(Settings(cors_origins=[ORIGIN + "/"]))
    assert client.get(f"{API}/auth/me", headers={"Origin": ORIGIN}).headers["access-control-allow-origin"] == ORIGIN
    other = client.get(f"{API}/auth/me", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    refused = client.options(
        f"{API}/auth/me", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "forbidden")


def test_mock_cors_false_answers_no_origin(make_client: MakeClient) -> None:
    client = make_client(Settings(mock_cors=False))
    answered = client.get("/.well-known/jwks.json", headers={"Origin": ORIGIN})
    assert answered.status_code == 200
    assert "access-control-allow-origin" not in answered.headers


def test_shipped_fixtures() -> None:
    users = load_fixtures(DEFAULT_FIXTURES, load_bundle())
    assert [u.email for u in users] == [ADA, "grace@example.com"]


def test_team_fixtures_file(tmp_path: Path, make_client: MakeClient) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(
        "users:\n"
        "  - {email: Lin@Example.com, firstName: Lin, lastName: Chen}\n"
        "  - {email: sam@example.com, firstName: Sam, lastName: Okafor, createdAt: 2025-05-01T10:00:00Z}\n"
    )
    client = make_client(Settings(), fixtures=path)
    data = login(client, "lin@example.com")
    assert data["user"]["firstName"] == "Lin" and data["user"]["email"] == "lin@example.com"
    assert client.post("/__mock/reset").json()["data"]["users"] == 2
    # Ada is not in this world: her email now leads to registration.
    code = request_code(client, ADA)
    verified = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code})
    assert verified.json()["data"]["status"] == "registration_required"
    # The settings name the file too (AUTHSPEC_MOCK_FIXTURES, as `authspec mock --fixtures` sets it).
    by_setting = make_client(Settings(mock_fixtures=path))
    assert login(by_setting, "sam@example.com")["user"]["createdAt"] == "2025-05-01T10:00:00.000Z"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("users: {}", "users` list"),
        ("users:\n  - {email: not-an-email, firstName: A, lastName: B}", "email"),
        ("users:\n  - {email: a@example.com, firstName: A}", "lastName"),
        ("users:\n  - {email: a@example.com, firstName: A, lastName: B, id: nope}", "uuid"),
        (
            "users:\n  - {email: a@example.com, firstName: A, lastName: B}\n"
            "  - {email: A@example.com, firstName: C, lastName: D}",
            "twice",
        ),
        ("users: [", "users"),
    ],
)
def test_broken_fixtures_fail_at_start(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(FixtureError, match=problem):
        load_fixtures(path, load_bundle())


def test_dev_code_is_off_by_default_and_works_when_set(client: TestClient, make_client: MakeClient) -> None:
    code = request_code(client, ADA)
    guess = "424242" if code != "424242" else "434343"
    refused = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": guess})
    assert refused.status_code == 401

    demo = make_client(Settings(mock_dev_code="424242"))
    request_code(demo, ADA)
    accepted = demo.post(f"{API}/auth/email/verify", json={"email": ADA, "code": "424242"})
    assert accepted.status_code == 200 and accepted.json()["data"]["status"] == "authenticated"
    # It is single use like any code, and still needs a requested code.
    again = demo.post(f"{API}/auth/email/verify", json={"email": ADA, "code": "424242"})
    assert again.status_code == 401
    with pytest.raises(ValueError, match="mock_dev_code"):
        Settings(mock_dev_code="12345")
