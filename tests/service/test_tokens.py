"""The ``tokens`` tag over HTTP: refreshToken (rotation, grace, reuse, lifetime), revokeRefreshToken, getJwks,
and the access-token checks every authenticated operation runs."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
import pytest
from authspec.handlers.app import reload_keys

from authspec.storage.tables import refresh_tokens
from tests.helpers import assert_error
from tests.jwt_attacks import ATTACKS, jwt_attacks
from tests.service.support import Api, Login, data

EMAIL = "ada@example.com"


# -- refreshToken --------------------------------------------------------------------------------------


def test_refresh_rotates_the_pair(api: Api) -> None:
    login = api.login(EMAIL)
    api.clock.advance(60)
    pair = data(api.refresh(login.refresh))
    assert pair["tokenType"] == "Bearer" and pair["expiresIn"] == 3600
    assert pair["refreshExpiresIn"] == 2592000 - 60  # never past the session's absolute lifetime
    assert pair["refreshToken"] != login.refresh and pair["accessToken"] != login.access
    data(api.get("/auth/me", pair["accessToken"]))
    data(api.get("/auth/me", login.access))  # the old access token lives until its own expiry
    data(api.refresh(pair["refreshToken"]))


@pytest.mark.parametrize("body", [{}, {"refreshToken": "short"}, {"refreshToken": "x" * 42 + "!"}, {"token": "A" * 43}])
def test_refresh_rejects_bad_bodies(api: Api, body: dict[str, Any]) -> None:
    assert_error(api.post("/auth/refresh", body), 400, "validation_failed")


def test_refresh_with_an_unknown_token(api: Api) -> None:
    assert_error(api.refresh("A" * 43), 401, "invalid_refresh_token")


def test_refresh_inside_the_grace_window_returns_the_same_pair(api: Api) -> None:
    login = api.login(EMAIL)
    first = data(api.refresh(login.refresh))
    api.clock.advance(10)
    again = data(api.refresh(login.refresh))  # a lost response, a second tab
    assert again["refreshToken"] == first["refreshToken"]
    assert again["accessToken"] == first["accessToken"]
    assert len(api.rows(refresh_tokens)) == 2  # no second lineage
    data(api.refresh(first["refreshToken"]))


def test_replay_after_the_grace_window_revokes_the_session(api: Api) -> None:
    login = api.login(EMAIL)
    other = api.login("grace@example.com")
    newest = data(api.refresh(login.refresh))
    api.clock.advance(11)
    assert_error(api.refresh(login.refresh), 401, "refresh_token_reused")
    # The whole family is gone: the newest refresh token and every access token of the session.
    assert_error(api.refresh(newest["refreshToken"]), 401, "invalid_refresh_token")
    assert_error(api.get("/auth/me", newest["accessToken"]), 401, "session_ended")
    assert_error(api.get("/auth/me", login.access), 401, "session_ended")
    data(api.get("/auth/me", other.access))  # other users are untouched
    data(api.refresh(other.refresh))


def test_grandparent_replay_inside_the_window_revokes_the_session(api: Api) -> None:
    login = api.login(EMAIL)
    child = data(api.refresh(login.refresh))
    grandchild = data(api.refresh(child["refreshToken"]))
    assert_error(api.refresh(login.refresh), 401, "refresh_token_reused")
    assert_error(api.refresh(grandchild["refreshToken"]), 401, "invalid_refresh_token")
    assert_error(api.get("/auth/me", grandchild["accessToken"]), 401, "session_ended")


def test_expired_refresh_token_fails_even_inside_the_grace_window(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(refresh_ttl=600)
    login = api.login(EMAIL)
    api.clock.advance(595)
    pair = data(api.refresh(login.refresh))
    assert pair["refreshExpiresIn"] == 5 and pair["expiresIn"] == 5
    api.clock.advance(6)
    assert_error(api.refresh(login.refresh), 401, "invalid_refresh_token")
    assert_error(api.refresh(pair["refreshToken"]), 401, "invalid_refresh_token")
    assert_error(api.get("/auth/me", pair["accessToken"]), 401, "token_expired")


def test_rotation_never_extends_the_absolute_lifetime(api: Api) -> None:
    login = api.login(EMAIL)
    token = login.refresh
    for days in (10, 10, 9):
        api.clock.advance(days * 86400)
        token = data(api.refresh(token))["refreshToken"]
    api.clock.advance(86400 - 100)
    pair = data(api.refresh(token))
    assert pair["refreshExpiresIn"] == 100
    assert pair["expiresIn"] == 100  # the access token stops with the session too
    api.clock.advance(100)
    assert_error(api.refresh(pair["refreshToken"]), 401, "invalid_refresh_token")
    assert_error(api.get("/auth/me", pair["accessToken"]), 401, "token_expired")


def test_refresh_tokens_are_random_and_stored_hashed(api: Api) -> None:
    login = api.login(EMAIL)
    pair = data(api.refresh(login.refresh))
    for token in (login.refresh, pair["refreshToken"]):
        assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
    rows = api.rows(refresh_tokens)
    stored = {row["token_hash"] for row in rows}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in (login.refresh, pair["refreshToken"])}
    assert not any(login.refresh in str(row.values()) or pair["refreshToken"] in str(row.values()) for row in rows)


# -- revokeRefreshToken --------------------------------------------------------------------------------


def two_sessions(api: Api) -> tuple[Login, Login]:
    return api.login(EMAIL, device="laptop"), api.login(EMAIL, device="phone")


def test_revoke_token_ends_its_session_at_once(api: Api) -> None:
    laptop, phone = two_sessions(api)
    revoked = data(api.post("/auth/revoke-token", {"refreshToken": phone.refresh}, laptop.access))
    assert revoked["revokedAt"] == "2026-01-15T10:31:00.000Z"
    assert_error(api.get("/auth/me", phone.access), 401, "session_ended")
    assert_error(api.refresh(phone.refresh), 401, "invalid_refresh_token")
    assert [s["id"] for s in api.sessions(laptop)] != [revoked["sessionId"]]
    assert revoked["sessionId"] not in [s["id"] for s in api.sessions(laptop)]
    data(api.refresh(laptop.refresh))


def test_revoke_own_current_token(api: Api) -> None:
    login = api.login(EMAIL)
    data(api.post("/auth/revoke-token", {"refreshToken": login.refresh}, login.access))
    assert_error(api.get("/auth/me", login.access), 401, "session_ended")


def test_revoke_another_users_token_is_forbidden_and_changes_nothing(api: Api) -> None:
    ada = api.login(EMAIL)
    grace = api.login("grace@example.com")
    response = api.post("/auth/revoke-token", {"refreshToken": grace.refresh}, ada.access)
    assert_error(response, 403, "forbidden")
    data(api.get("/auth/me", grace.access))
    data(api.refresh(grace.refresh))


def test_revoke_an_unknown_token(api: Api) -> None:
    login = api.login(EMAIL)
    response = api.post("/auth/revoke-token", {"refreshToken": "B" * 43}, login.access)
    assert_error(response, 404, "refresh_token_not_found")


def test_revoke_an_already_revoked_or_rotated_token(api: Api) -> None:
    laptop, phone = two_sessions(api)
    data(api.post("/auth/revoke-token", {"refreshToken": phone.refresh}, laptop.access))
    response = api.post("/auth/revoke-token", {"refreshToken": phone.refresh}, laptop.access)
    assert_error(response, 409, "refresh_token_already_revoked")
    rotated = data(api.refresh(laptop.refresh))
    response = api.post("/auth/revoke-token", {"refreshToken": laptop.refresh}, rotated["accessToken"])
    assert_error(response, 409, "refresh_token_already_revoked")


def test_revoke_token_needs_auth_and_a_body(api: Api) -> None:
    login = api.login(EMAIL)
    assert_error(api.post("/auth/revoke-token", {"refreshToken": login.refresh}), 401, "authentication_required")
    assert_error(api.post("/auth/revoke-token", {}, login.access), 400, "validation_failed")
    data(api.refresh(login.refresh))


# -- getJwks and access-token checks -----------------------------------------------------------------------


def test_jwks_lists_the_public_keys_unwrapped(api: Api) -> None:
    response = api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"keys"}
    [key] = body["keys"]
    assert key["kty"] == "OKP" and key["alg"] == "EdDSA" and key["use"] == "sig" and "d" not in key
    assert "max-age" in response.headers["Cache-Control"]
    login = api.login(EMAIL)
    header = jwt.get_unverified_header(login.access)
    assert header == {"alg": "EdDSA", "kid": key["kid"], "typ": "at+jwt"}
    claims = jwt.decode(
        login.access, jwt.PyJWK(key).key, algorithms=["EdDSA"], audience="authspec-api", options={"verify_exp": False}
    )
    assert set(claims) == {"sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ"}
    assert claims["sub"] == login.user["id"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_bad_access_tokens_get_401_with_their_error_code(api: Api, attack: str) -> None:
    login = api.login(EMAIL)
    real = jwt.decode(login.access, options={"verify_signature": False})
    key = api.services.tokens.access.keyring.active
    now = int(api.clock.now().timestamp())
    token, code = jwt_attacks(key, real, now=now, refresh_token=login.refresh)[attack]
    assert_error(api.get("/auth/me", token), 401, code)
    data(api.get("/auth/me", login.access))  # the genuine token still works


def test_expired_access_token(api: Api) -> None:
    login = api.login(EMAIL)
    api.clock.advance(3600)
    response = api.get("/auth/me", login.access)
    assert_error(response, 401, "token_expired")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_key_rotation_keeps_old_tokens_valid_until_the_old_key_is_retired(api: Api) -> None:
    from authspec.storage.keyfile import retire, rotate

    path = api.settings.jwt_private_key_file
    old = api.login(EMAIL)
    old_kid = jwt.get_unverified_header(old.access)["kid"]
    reload_keys(api.services, rotate(path, now=api.clock.now()))  # no publish delay: it signs at once
    kids = [k["kid"] for k in api.client.get("/.well-known/jwks.json").json()["keys"]]
    assert len(kids) == 2 and kids[1] == old_kid
    data(api.get("/auth/me", old.access))
    new = data(api.refresh(old.refresh))
    assert jwt.get_unverified_header(new["accessToken"])["kid"] == kids[0]
    reload_keys(api.services, retire(path, now=api.clock.now())[0])
    assert [k["kid"] for k in api.client.get("/.well-known/jwks.json").json()["keys"]] == [kids[0]]
    assert_error(api.get("/auth/me", old.access), 401, "invalid_token")
    data(api.get("/auth/me", new["accessToken"]))


def test_a_fresh_pair_states_the_full_lifetimes_on_a_running_clock(make_settings: Any) -> None:
    """expiresIn and refreshExpiresIn of a new pair are the configured lifetimes, not a second less:
    they were measured against a second reading of a running clock (found by the contract suite's
    differential run: the real service said 3599 where the mock said 3600)."""
    from authspec.handlers.app import create_app
    from starlette.testclient import TestClient

    from authspec.clock import MovableClock
    from authspec.mail.memory import MemoryMailer

    running = MovableClock()  # the wall clock, not the tests' frozen one
    app = create_app(make_settings(), clock=running, mailer=MemoryMailer())
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 50000)) as client:
        api = Api(app, client, app.authspec.extras["mailer"], running)
        for attempt in range(5):  # time passes between issuing and answering on every attempt
            email = f"lifetime{attempt}@example.com"
            verified = data(api.verify(email, api.request_code(email)))
            body = {"registrationToken": verified["registrationToken"], "firstName": "Ada", "lastName": "Lovelace"}
            tokens = data(api.post("/auth/register", body), 201)["tokens"]
            assert (tokens["expiresIn"], tokens["refreshExpiresIn"]) == (3600, 2592000)
            rotated = data(api.refresh(tokens["refreshToken"]))
            assert rotated["expiresIn"] == 3600
