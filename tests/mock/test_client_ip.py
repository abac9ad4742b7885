"""The mock runs the service's rules on the client IP too: behind a trusted proxy each forwarded client
has its own per-IP budget and its own session ``ip``; from an untrusted peer the headers change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from authspec.mock.app import create_app
from starlette.testclient import TestClient

from authspec.settings import Settings
from authspec.spec import load_bundle
from tests.mock.conftest import Contract, checked_client
from tests.mock.flows import ADA, API, bearer, request_code


@pytest.fixture
def mock_behind(contract: Contract) -> Iterator[Any]:
    """``mock_behind(peer, **settings)``: a client of a mock app whose TCP peer is ``peer``."""
    opened: list[TestClient] = []

    def make(peer: str, **settings: Any) -> TestClient:
        app = create_app(Settings(**settings), spec=load_bundle())
        client = checked_client(app, contract, namespace=f"ip-{uuid.uuid4().hex[:12]}", client=(peer, 4711))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _request(client: TestClient, forwarded_for: str) -> int:
    body = {"email": f"{uuid.uuid4().hex}@example.com"}
    response = client.post(f"{API}/auth/email/request-code", json=body, headers={"X-Forwarded-For": forwarded_for})
    return response.status_code


def test_forwarded_clients_of_a_trusted_proxy_have_their_own_budgets(mock_behind: Any) -> None:
    client = mock_behind("10.0.0.5", trusted_proxies="10.0.0.0/8", code_ip_limit=2)
    assert [_request(client, f"198.51.100.{n}") for n in range(1, 6)] == [200] * 5
    assert [_request(client, "198.51.100.1") for _ in range(2)] == [200, 429]
    assert _request(client, "198.51.100.2") == 200


def test_forwarded_headers_of_an_untrusted_peer_change_nothing(mock_behind: Any) -> None:
    client = mock_behind("203.0.113.7", trusted_proxies="10.0.0.0/8", code_ip_limit=2)
    assert [_request(client, f"198.51.100.{n}") for n in range(1, 4)] == [200, 200, 429]


@pytest.mark.parametrize(("peer", "expected"), [("10.0.0.5", "198.51.100.4"), ("203.0.113.7", "203.0.113.7")])
def test_the_session_ip_is_the_forwarded_client_only_from_a_trusted_proxy(
    mock_behind: Any, peer: str, expected: str
) -> None:
    client = mock_behind(peer, trusted_proxies="10.0.0.0/8")
    client.headers["X-Forwarded-For"] = "198.51.100.4"
    code = request_code(client, ADA)
    verified = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code})
    assert verified.status_code == 200, verified.text
    listed = client.get(f"{API}/auth/sessions", headers=bearer(verified.json()["data"]["tokens"]))
    assert [s["ip"] for s in listed.json()["data"]] == [expected]
