"""The mock's idle timeout (issue 13): the same rule as the service, on the mock's movable clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.testclient import TestClient

from authspec.settings import Settings
from tests.mock.flows import API, advance, bearer, login

IDLE = 600


def test_an_idle_session_ends_on_the_mock(make_client: Callable[..., TestClient]) -> None:
    client = make_client(Settings(session_idle_ttl=IDLE))
    idle = login(client, device="idle")
    advance(client, 61)  # past the resend cooldown
    kept = login(client, device="kept")
    advance(client, IDLE - 62)
    assert client.get(f"{API}/auth/me", headers=bearer(kept["tokens"])).status_code == 200  # touched: 599 s idle
    advance(client, 1)  # idle: IDLE since its login
    ended = client.get(f"{API}/auth/me", headers=bearer(idle["tokens"]))
    assert (ended.status_code, ended.json()["errorCode"]) == (401, "session_ended")
    refused = client.post(f"{API}/auth/refresh", json={"refreshToken": idle["tokens"]["refreshToken"]})
    assert (refused.status_code, refused.json()["errorCode"]) == (401, "invalid_refresh_token")
    listed = client.get(f"{API}/auth/sessions", headers=bearer(kept["tokens"])).json()["data"]
    assert [s["deviceName"] for s in listed] == ["kept"]
    now = datetime.fromisoformat(client.get("/__mock/clock").json()["data"]["now"])
    lag = (now - datetime.fromisoformat(listed[0]["lastActiveAt"])).total_seconds()
    assert 1 <= lag < Settings().session_touch_interval  # the /auth/me above, before the 1 s step
