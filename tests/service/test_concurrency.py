"""Races with real parallel requests: two instances of the service (uvicorn on loopback ports, one
database) receive the requests alternately, so the rules hold across processes' worth of
connections, not only inside one event loop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from authspec.storage.tables import email_codes, refresh_tokens, registration_tokens, sessions
from tests.service.support import Api, bearer, live, parallel

pytestmark = pytest.mark.slow

EMAIL = "ada@example.com"


@pytest.fixture
def pair(make_api: Callable[..., Api], make_app: Callable[..., Any]) -> Iterator[tuple[Api, list[str]]]:
    """A TestClient app for setup and checks, and two live instances on the same database."""
    api = make_api()
    with live(make_app(), make_app()) as urls:
        yield api, urls


def spread(urls: list[str], n: int, method: str, path: str, **kwargs: Any) -> list[httpx.Response]:
    return parallel([(method, urls[i % len(urls)] + path, kwargs) for i in range(n)])


def statuses(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter((r.status_code, r.json()["errorCode"]) for r in responses)


def test_concurrent_refreshes_share_one_successor(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    login = api.login(EMAIL)
    responses = spread(urls, 20, "POST", "/auth/refresh", json={"refreshToken": login.refresh})
    assert statuses(responses) == {(200, None): 20}
    assert len({r.json()["data"]["refreshToken"] for r in responses}) == 1
    assert len({r.json()["data"]["accessToken"] for r in responses}) == 1
    assert len(api.rows(refresh_tokens)) == 2  # the parent and one successor: no second lineage
    successor = responses[0].json()["data"]
    assert api.refresh(successor["refreshToken"]).status_code == 200  # the session stays usable
    assert api.get("/auth/me", successor["accessToken"]).status_code == 200


def test_replay_racing_a_legitimate_refresh_leaves_no_descendant(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    login = api.login(EMAIL)
    child = api.refresh(login.refresh).json()["data"]["refreshToken"]
    api.clock.advance(11)  # the parent is now outside its grace window
    calls = []
    for i in range(20):
        token = login.refresh if i % 2 else child  # the thief's replay and the owner's refresh, interleaved
        calls.append(("POST", urls[i % 2] + "/auth/refresh", {"json": {"refreshToken": token}}))
    responses = parallel(calls)
    assert any(r.json()["errorCode"] == "refresh_token_reused" for r in responses)
    assert {r.status_code for r in responses} <= {200, 401}
    [session] = api.rows(sessions)
    assert session["revoked_reason"] == "refresh_token_reused"
    # Whatever a winner received before the revocation is dead now, access tokens included.
    for response in responses:
        if response.status_code == 200:
            issued = response.json()["data"]
            assert api.refresh(issued["refreshToken"]).status_code == 401
            assert api.get("/auth/me", issued["accessToken"]).json()["errorCode"] == "session_ended"
    assert all(row["revoked_at"] is not None for row in api.rows(refresh_tokens))


def test_fifty_parallel_wrong_codes_are_fifty_attempts(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    code = api.request_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    responses = spread(urls, 50, "POST", "/auth/email/verify", json={"email": EMAIL, "code": wrong})
    assert statuses(responses) == {(401, "invalid_code"): 4, (429, "too_many_attempts"): 46}
    [row] = api.rows(email_codes)
    assert row["attempts"] == 5  # only five guesses were ever compared
    assert api.verify(EMAIL, code).json()["errorCode"] == "too_many_attempts"


def test_two_concurrent_correct_verifies_one_wins(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    api.login(EMAIL)
    code = api.request_code(EMAIL)
    responses = spread(urls, 2, "POST", "/auth/email/verify", json={"email": EMAIL, "code": code})
    assert statuses(responses) == {(200, None): 1, (401, "invalid_code"): 1}
    assert len([s for s in api.rows(sessions) if s["revoked_at"] is None]) == 2


def test_many_concurrent_correct_verifies_one_wins(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    code = api.request_code(EMAIL)
    responses = spread(urls, 12, "POST", "/auth/email/verify", json={"email": EMAIL, "code": code})
    counted = statuses(responses)
    assert counted[(200, None)] == 1
    # Every check counts as an attempt: beyond the fifth, the losers may be told the budget is spent.
    assert set(counted) <= {(200, None), (401, "invalid_code"), (429, "too_many_attempts")}
    assert len(api.rows(registration_tokens)) == 1


def test_concurrent_code_requests_send_one_code(pair: tuple[Api, list[str]]) -> None:
    _api, urls = pair
    responses = spread(urls, 12, "POST", "/auth/email/request-code", json={"email": EMAIL})
    counted = statuses(responses)
    assert counted == {(200, None): 1, (429, "rate_limited"): 11}
    assert all(r.headers["Retry-After"] == "60" for r in responses if r.status_code == 429)


def test_concurrent_registrations_with_one_token_create_one_user(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    token = api.registration_token(EMAIL)
    body = {"registrationToken": token, "firstName": "Ada", "lastName": "Lovelace"}
    responses = spread(urls, 10, "POST", "/auth/register", json=body)
    assert statuses(responses) == {(201, None): 1, (401, "invalid_registration_token"): 9}


def test_concurrent_logout_and_revocations_end_each_session_once(pair: tuple[Api, list[str]]) -> None:
    api, urls = pair
    logins = [api.login(EMAIL, device=f"d{n}") for n in range(4)]
    ids = [s["id"] for s in api.sessions(logins[0])]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", urls[0] + "/auth/logout", {"headers": bearer(logins[0].access)}),
        ("POST", urls[1] + "/auth/logout", {"headers": bearer(logins[1].access)}),
    ]
    calls += [
        ("POST", urls[n % 2] + f"/sessions/{sid}/revoke", {"headers": bearer(logins[2].access)})
        for n, sid in enumerate(ids)
    ]
    responses = parallel(calls)
    assert {r.status_code for r in responses} <= {200, 401, 409}
    ended = sum(r.json()["data"]["revokedSessions"] for r in responses[:2] if r.status_code == 200)
    ended += sum(1 for r in responses[2:] if r.status_code == 200)
    assert ended == 4  # every session ended exactly once, whoever won
    assert all(s["revoked_at"] is not None for s in api.rows(sessions))
