"""Introspection (POST /auth/introspect) on the real service, on SQLite and PostgreSQL: every way a
session ends answers ``active: false`` at once, idle and absolute expiry too; form and JSON bodies;
and a caller without valid resource-server credentials learns nothing about any token."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest

from authspec.resource_clients import secret_hash
from tests.helpers import assert_error
from tests.service.support import Api, Login, data

CLIENT_ID, SECRET = "orders-api", "s3cret-of-orders"
CLIENTS = f"{CLIENT_ID}:{secret_hash(SECRET)},billing:{secret_hash('other')}"


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def rs_api(make_api: Callable[..., Api]) -> Api:
    return make_api(introspection_clients=CLIENTS)


def introspect(api: Api, token: str, *, form: bool = False, headers: dict[str, str] | None = None) -> httpx.Response:
    headers = basic() if headers is None else headers
    if form:
        return api.client.post("/api/v1/auth/introspect", data={"token": token}, headers=headers)
    return api.post("/auth/introspect", {"token": token}, headers=headers)


def active(api: Api, token: str, **kwargs: Any) -> dict[str, Any]:
    answer: dict[str, Any] = data(introspect(api, token, **kwargs))
    return answer


def test_an_active_token_answers_its_claims(rs_api: Api) -> None:
    login = rs_api.login("ada@example.com")
    answer = active(rs_api, login.access)
    assert answer["active"] is True
    assert answer["sub"] == login.user["id"]
    assert answer["tokenType"] == "access_token"
    assert {"sid", "exp", "iat", "jti", "iss", "aud"} <= set(answer)
    assert answer["exp"] - answer["iat"] == rs_api.settings.access_ttl


def test_form_and_json_bodies_answer_alike(rs_api: Api) -> None:
    login = rs_api.login("ada@example.com")
    assert active(rs_api, login.access, form=True) == active(rs_api, login.access)
    form_with_hint = rs_api.client.post(
        "/api/v1/auth/introspect", data={"token": login.access, "token_type_hint": "unknown_kind"}, headers=basic()
    )
    assert data(form_with_hint)["active"] is True


def test_a_missing_token_is_validation_failed(rs_api: Api) -> None:
    assert_error(rs_api.post("/auth/introspect", {}, headers=basic()), 400, "validation_failed")
    assert_error(rs_api.client.post("/api/v1/auth/introspect", data={}, headers=basic()), 400, "validation_failed")


def test_a_token_past_its_maximum_length_is_validation_failed_even_fully_escaped(rs_api: Api) -> None:
    # 4,097 characters that JSON escapes as surrogate pairs and a form percent-encodes (12 bytes each):
    # the longest such body still fits the 64 KiB limit, so the answer is 400, not 413.
    token = "\U0001f600" * 4097
    escaped = '{"token": "' + "\\ud83d\\ude00" * 4097 + '"}'
    json_answer = rs_api.client.post(
        "/api/v1/auth/introspect", content=escaped, headers={**basic(), "Content-Type": "application/json"}
    )
    assert_error(json_answer, 400, "validation_failed")
    form = "token=" + quote_plus(token)
    form_answer = rs_api.client.post(
        "/api/v1/auth/introspect",
        content=form,
        headers={**basic(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(form_answer, 400, "validation_failed")


def test_anything_but_an_active_access_token_is_inactive_and_nothing_more(rs_api: Api) -> None:
    login = rs_api.login("ada@example.com")
    for token in ("garbage", login.refresh, login.access[:-4] + "AAAA"):
        assert active(rs_api, token) == {"active": False}


def _ends(rs_api: Api) -> dict[str, Callable[[Login, Login], None]]:
    def logout(scope: str) -> Callable[[Login, Login], None]:
        return lambda victim, other: data(rs_api.post("/auth/logout", {"scope": scope}, token=victim.access))

    def logout_others(victim: Login, other: Login) -> None:
        data(rs_api.post("/auth/logout", {"scope": "others"}, token=other.access))

    def revoke_token(victim: Login, other: Login) -> None:
        data(rs_api.post("/auth/revoke-token", {"refreshToken": victim.refresh}, token=victim.access))

    def revoke_session(victim: Login, other: Login) -> None:
        sid = active(rs_api, victim.access)["sid"]
        data(rs_api.post(f"/sessions/{sid}/revoke", token=other.access))

    def reuse(victim: Login, other: Login) -> None:
        data(rs_api.refresh(victim.refresh))
        rs_api.clock.advance(rs_api.settings.refresh_grace + 1)
        assert_error(rs_api.refresh(victim.refresh), 401, "refresh_token_reused")

    return {
        "logout all": logout("all"),
        "logout current": logout("current"),
        "logout others": logout_others,
        "revoke-token": revoke_token,
        "revokeSession": revoke_session,
        "reuse detection": reuse,
    }


@pytest.mark.parametrize(
    "path", ["logout all", "logout current", "logout others", "revoke-token", "revokeSession", "reuse detection"]
)
def test_every_revocation_path_answers_inactive_at_once_and_adds_a_feed_entry(rs_api: Api, path: str) -> None:
    victim = rs_api.login("ada@example.com", device="victim")
    other = rs_api.login("ada@example.com", device="other")
    sid = active(rs_api, victim.access)["sid"]
    _ends(rs_api)[path](victim, other)
    assert active(rs_api, victim.access) == {"active": False}
    feed = data(rs_api.get("/auth/revocations", headers=basic()))
    assert sid in [entry["sid"] for entry in feed["revocations"]]


def test_absolute_expiry_answers_inactive(make_api: Callable[..., Api]) -> None:
    api = make_api(introspection_clients=CLIENTS, refresh_ttl=600, access_ttl=3600)
    login = api.login("ada@example.com")
    assert active(api, login.access)["active"] is True
    api.clock.advance(601)
    assert active(api, login.access) == {"active": False}


def test_idle_expiry_answers_inactive(make_api: Callable[..., Api]) -> None:
    api = make_api(introspection_clients=CLIENTS, session_idle_ttl=120, session_touch_interval=60, access_ttl=3600)
    login = api.login("ada@example.com")
    api.clock.advance(121)
    assert active(api, login.access) == {"active": False}


def _refusals(api: Api, token: str) -> list[httpx.Response]:
    wrong = [
        {},
        basic(secret="wrong"),
        basic(client_id="nobody"),
        {"Authorization": f"Bearer {token}"},
        {"Authorization": "Basic !!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ]
    return [introspect(api, token, headers=headers) for headers in wrong]


def test_an_unknown_caller_gets_the_same_401_whatever_the_token(rs_api: Api) -> None:
    login = rs_api.login("ada@example.com")
    ended = rs_api.login("ada@example.com")
    data(rs_api.post("/auth/logout", {"scope": "current"}, token=ended.access))
    bodies = set()
    for token in (login.access, ended.access, "garbage"):
        for answer in _refusals(rs_api, token):
            body = assert_error(answer, 401, "invalid_client")
            assert answer.headers["www-authenticate"] == 'Basic realm="authspec"'
            bodies.add((tuple(body["errors"]), body["data"]))
    assert len(bodies) == 1
    feed = rs_api.get("/auth/revocations")
    assert_error(feed, 401, "invalid_client")


def test_form_encoded_credentials_are_accepted_as_rfc_6749_sends_them(make_api: Callable[..., Api]) -> None:
    secret = "z/tZ9+Vw:X2=%~ b"
    api = make_api(introspection_clients=f"java~api:{secret_hash(secret)}")
    token = api.login("ada@example.com").access
    # Java's URLEncoder encodes "~" too; Python's quote_plus with safe="" encodes the rest alike.
    encoded = basic("java%7Eapi", quote_plus(secret, safe=""))
    for headers in (basic("java~api", secret), encoded):
        assert active(api, token, headers=headers)["active"] is True
    for wrong in (basic("java~api", quote_plus(secret + "x", safe="")), basic("java%7Eapi", "z/tZ9")):
        assert_error(introspect(api, token, headers=wrong), 401, "invalid_client")


def test_without_configured_clients_every_caller_is_refused(api: Api) -> None:
    login = api.login("ada@example.com")
    assert_error(introspect(api, login.access), 401, "invalid_client")
