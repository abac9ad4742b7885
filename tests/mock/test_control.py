"""The control API under /__mock: outbox, reset, clock, request log, scenarios, and namespaces."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.testclient import TestClient

from tests.mock.conftest import Contract, checked_client
from tests.mock.flows import ADA, API, advance, bearer, login, request_code


def _now(client: TestClient) -> datetime:
    return datetime.fromisoformat(client.get("/__mock/clock").json()["data"]["now"].replace("Z", "+00:00"))


def test_outbox_lists_sent_codes_and_filters_by_recipient(client: TestClient) -> None:
    assert client.get("/__mock/outbox").json()["data"] == []
    ada_code = request_code(client, ADA)
    request_code(client, "grace@example.com")
    everything = client.get("/__mock/outbox").json()["data"]
    assert [m["to"] for m in everything] == [ADA, "grace@example.com"]
    only_ada = client.get("/__mock/outbox", params={"to": ADA}).json()["data"]
    assert len(only_ada) == 1 and only_ada[0]["code"] == ada_code and only_ada[0]["subject"]


def test_reset_returns_the_world_to_its_fixtures(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    advance(client, 5000)
    client.post("/__mock/scenarios", json={"operationId": "getCurrentUser", "status": 500})
    reset = client.post("/__mock/reset")
    assert reset.status_code == 200
    assert reset.json()["data"] == {"namespace": client.headers["X-Mock-Namespace"], "users": 2}
    assert client.get("/__mock/outbox").json()["data"] == []
    assert client.get("/__mock/requests").json()["data"] == []
    assert client.get("/__mock/scenarios").json()["data"] == []
    assert client.get("/__mock/clock").json()["data"]["offsetSeconds"] == 0
    gone = client.get(f"{API}/auth/me", headers=bearer(tokens))
    assert gone.status_code == 401 and gone.json()["errorCode"] == "session_ended"
    # Users registered before the reset are forgotten; the fixtures' users remain.
    assert login(client)["user"]["email"] == ADA


def test_clock_advance_and_set(client: TestClient) -> None:
    before = _now(client)
    moved = advance(client, 3600)
    assert moved["offsetSeconds"] >= 3600
    assert abs((_now(client) - before).total_seconds() - 3600) < 5
    back = advance(client, -3600)
    assert abs(back["offsetSeconds"]) < 1
    target = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    jumped = client.post("/__mock/clock", json={"set": "2030-06-01T12:00:00.000Z"})
    assert jumped.status_code == 200
    assert abs((_now(client) - target).total_seconds()) < 5
    # The API's timestamps follow the world's clock.
    answer = client.post(f"{API}/auth/email/request-code", json={"email": ADA})
    assert answer.json()["timestamp"].startswith("2030-06-01")
    for bad in ({}, {"advanceSeconds": 1, "set": "2030-06-01T12:00:00.000Z"}, {"advanceSeconds": "soon"}):
        refused = client.post("/__mock/clock", json=bad)
        assert refused.status_code == 400 and refused.json()["errorCode"] == "validation_failed"


def test_access_token_expires_by_the_mock_clock_while_refresh_still_works(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    advance(client, 3599)
    assert client.get(f"{API}/auth/me", headers=bearer(tokens)).status_code == 200
    advance(client, 2)
    expired = client.get(f"{API}/auth/me", headers=bearer(tokens))
    assert expired.status_code == 401 and expired.json()["errorCode"] == "token_expired"
    assert expired.headers["www-authenticate"].startswith("Bearer")
    refreshed = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text
    assert client.get(f"{API}/auth/me", headers=bearer(refreshed.json()["data"])).status_code == 200


def test_codes_and_sessions_expire_by_the_mock_clock(client: TestClient) -> None:
    code = request_code(client, ADA)
    advance(client, 301)
    late = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code})
    assert late.status_code == 401 and late.json()["errorCode"] == "invalid_code"
    tokens = login(client)["tokens"]
    advance(client, 2592000 + 1)  # past the session's absolute lifetime
    refused = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refused.status_code == 401 and refused.json()["errorCode"] == "invalid_refresh_token"


def test_request_log_records_api_calls_with_operation_and_status(client: TestClient) -> None:
    client.post(f"{API}/auth/email/request-code", json={"email": ADA})
    client.get(f"{API}/auth/me")
    client.get(f"{API}/nowhere")
    client.get("/__mock/outbox")  # the control API is not logged
    logged = client.get("/__mock/requests").json()["data"]
    assert [(e["method"], e["path"], e["operationId"], e["status"]) for e in logged] == [
        ("POST", f"{API}/auth/email/request-code", "requestEmailCode", 200),
        ("GET", f"{API}/auth/me", "getCurrentUser", 401),
        ("GET", f"{API}/nowhere", None, 404),
    ]
    last = client.get("/__mock/requests", params={"limit": 1}).json()["data"]
    assert [e["path"] for e in last] == [f"{API}/nowhere"]
    assert client.get("/__mock/requests", params={"limit": 0}).status_code == 400


def test_scenarios_answer_the_next_calls_then_stop(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    queued = client.post("/__mock/scenarios", json={"operationId": "refreshToken", "status": 401, "times": 2})
    assert queued.status_code == 201 and queued.json()["data"] == {
        "operationId": "refreshToken",
        "status": 401,
        "times": 2,
    }
    assert client.get("/__mock/scenarios").json()["data"] == [
        {"operationId": "refreshToken", "status": 401, "times": 2}
    ]
    for remaining in (1, 0):
        forced = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
        # refreshToken has no bearer security, so its declared 401 carries no WWW-Authenticate
        assert forced.status_code == 401 and "www-authenticate" not in forced.headers
        assert len(client.get("/__mock/scenarios").json()["data"]) == remaining
    # The world was not touched: the refresh token still rotates.
    assert client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]}).status_code == 200


def test_scenario_with_a_default_status_and_on_an_authenticated_operation(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    client.post("/__mock/scenarios", json={"operationId": "listSessions", "status": 500})
    failed = client.get(f"{API}/auth/sessions", headers=bearer(tokens))
    assert failed.status_code == 500 and failed.json()["errorCode"] == "internal_error"
    # A request that fails authentication does not spend a scenario.
    client.post("/__mock/scenarios", json={"operationId": "listSessions", "status": 500})
    assert client.get(f"{API}/auth/sessions").status_code == 401
    assert client.get(f"{API}/auth/sessions", headers=bearer(tokens)).status_code == 500
    assert client.get(f"{API}/auth/sessions", headers=bearer(tokens)).status_code == 200


def test_scenarios_are_checked_against_the_contract(client: TestClient) -> None:
    undeclared = client.post("/__mock/scenarios", json={"operationId": "refreshToken", "status": 404})
    assert undeclared.status_code == 400 and undeclared.json()["errorCode"] == "validation_failed"
    assert "does not declare status 404" in undeclared.json()["errors"][1]
    unknown = client.post("/__mock/scenarios", json={"operationId": "noSuchOperation", "status": 200})
    assert unknown.status_code == 400 and "noSuchOperation" in unknown.json()["errors"][1]
    for bad in ({"operationId": "refreshToken"}, {"operationId": "refreshToken", "status": 401, "times": 0}):
        assert client.post("/__mock/scenarios", json=bad).status_code == 400
    assert client.get("/__mock/scenarios").json()["data"] == []


def test_clearing_scenarios(client: TestClient) -> None:
    client.post("/__mock/scenarios", json={"operationId": "getJwks", "status": 200})
    cleared = client.delete("/__mock/scenarios")
    assert cleared.status_code == 200 and cleared.json()["data"] == []
    assert client.get("/__mock/scenarios").json()["data"] == []


def test_namespaces_are_isolated_worlds(client: TestClient, contract: Contract) -> None:
    ns = client.headers["X-Mock-Namespace"]
    other = {"X-Mock-Namespace": ns + "-other"}
    tokens = login(client)["tokens"]
    advance(client, 1000)
    client.post("/__mock/scenarios", json={"operationId": "getJwks", "status": 200})
    # The other world has none of it.
    assert client.get("/__mock/outbox", headers=other).json()["data"] == []
    assert client.get("/__mock/requests", headers=other).json()["data"] == []
    assert client.get("/__mock/scenarios", headers=other).json()["data"] == []
    assert abs(client.get("/__mock/clock", headers=other).json()["data"]["offsetSeconds"]) < 1
    foreign = client.get(f"{API}/auth/me", headers={**bearer(tokens), **other})
    assert foreign.status_code == 401 and foreign.json()["errorCode"] == "session_ended"
    # Its own login does not show up in the first world, and resetting it leaves the first alone.
    login(checked_client(client.app, contract, other["X-Mock-Namespace"]))
    assert len(client.get("/__mock/outbox").json()["data"]) == 1
    client.post("/__mock/reset", headers=other)
    assert client.get(f"{API}/auth/me", headers=bearer(tokens)).status_code == 200


def test_invalid_namespace_is_400(client: TestClient) -> None:
    for bad in ("has space", "x" * 65, "semi;colon", "trailing-newline\n"):
        for path in (f"{API}/auth/me", "/__mock/outbox"):
            refused = client.get(path, headers={"X-Mock-Namespace": bad})
            assert refused.status_code == 400 and "X-Mock-Namespace" in refused.json()["errors"][1]


def test_default_namespace_without_the_header(mock_app: object, contract: Contract) -> None:
    plain = checked_client(mock_app, contract)
    assert "x-mock-namespace" not in plain.headers
    reset = plain.post("/__mock/reset")
    assert reset.json()["data"]["namespace"] == "default"
