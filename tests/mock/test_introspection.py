"""Introspection and the revocation feed on the mock: the same rules as the service, over the
request's world, on the world's movable clock, with the documented development client accepted
when no client is configured (and only the configured ones when some are)."""

from __future__ import annotations

import base64
from typing import Any

from authspec.mock.app import create_app
from starlette.testclient import TestClient

from authspec.resource_clients import DEV_CLIENT_ID, DEV_CLIENT_SECRET, secret_hash
from authspec.settings import Settings
from authspec.spec import load_bundle
from tests.mock.flows import API, advance, bearer, login


def basic(client_id: str = DEV_CLIENT_ID, secret: str = DEV_CLIENT_SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def introspect(client: TestClient, token: str, headers: dict[str, str] | None = None, form: bool = False) -> Any:
    headers = basic() if headers is None else headers
    if form:
        return client.post(f"{API}/auth/introspect", data={"token": token}, headers=headers)
    return client.post(f"{API}/auth/introspect", json={"token": token}, headers=headers)


def test_the_dev_client_introspects_an_active_token_with_form_or_json(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    answers = [introspect(client, tokens["accessToken"], form=form).json()["data"] for form in (False, True)]
    assert answers[0] == answers[1] and answers[0]["active"] is True and answers[0]["tokenType"] == "access_token"


def test_logout_answers_inactive_and_adds_a_feed_entry(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    sid = introspect(client, tokens["accessToken"]).json()["data"]["sid"]
    assert client.post(f"{API}/auth/logout", json={"scope": "all"}, headers=bearer(tokens)).status_code == 200
    assert introspect(client, tokens["accessToken"]).json()["data"] == {"active": False}
    page = client.get(f"{API}/auth/revocations", headers=basic()).json()["data"]
    assert [e["sid"] for e in page["revocations"]] == [sid] and page["cursor"] != "0"
    again = client.get(f"{API}/auth/revocations", params={"after": page["cursor"]}, headers=basic()).json()["data"]
    assert again == {"revocations": [], "cursor": page["cursor"], "hasMore": False}


def test_the_mock_clock_applies(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    advance(client, 3601)
    assert introspect(client, tokens["accessToken"]).json()["data"] == {"active": False}


def test_a_wrong_credential_gets_the_same_401_whatever_the_token(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    bodies = set()
    for token in (tokens["accessToken"], "garbage"):
        for headers in ({}, basic(secret="wrong"), basic(client_id="nobody"), bearer(tokens)):
            answer = introspect(client, token, headers=headers)
            assert answer.status_code == 401 and answer.json()["errorCode"] == "invalid_client"
            assert answer.headers["www-authenticate"] == 'Basic realm="authspec"'
            bodies.add(tuple(answer.json()["errors"]))
    assert len(bodies) == 1
    assert client.get(f"{API}/auth/revocations").status_code == 401


def test_configured_clients_replace_the_dev_client() -> None:
    settings = Settings(introspection_clients=f"orders:{secret_hash('s3cret')}")
    with TestClient(create_app(settings, spec=load_bundle()), raise_server_exceptions=False) as client:
        assert client.get(f"{API}/auth/revocations", headers=basic()).status_code == 401
        assert client.get(f"{API}/auth/revocations", headers=basic("orders", "s3cret")).status_code == 200
