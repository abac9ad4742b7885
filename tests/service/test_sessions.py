"""The ``sessions`` tag over HTTP: listSessions, revokeSession and logout."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_error
from tests.service.support import Api, Login, data

EMAIL = "ada@example.com"
FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


def three_sessions(api: Api) -> list[Login]:
    return [api.login(EMAIL, device=name) for name in ("laptop", "phone", "tablet")]


# -- listSessions ----------------------------------------------------------------------------------------


def test_list_shows_the_callers_active_sessions_with_one_current(api: Api) -> None:
    laptop = api.login(EMAIL, device="Firefox on Linux", headers=FIREFOX)
    phone = api.login(EMAIL, device="phone")
    grace = api.login("grace@example.com")
    listed = api.sessions(laptop)
    assert [s["deviceName"] for s in listed] == ["phone", "Firefox on Linux"]  # newest first
    assert [s["current"] for s in listed] == [False, True]
    mine = listed[1]
    assert mine["userAgent"] == FIREFOX["User-Agent"] and mine["ip"] == "203.0.113.7"
    assert mine["createdAt"] == "2026-01-15T10:30:00.000Z"
    assert mine["expiresAt"] == "2026-02-14T10:30:00.000Z"
    assert set(mine) == {"id", "createdAt", "lastActiveAt", "expiresAt", "ip", "userAgent", "deviceName", "current"}
    assert [s["current"] for s in api.sessions(phone)] == [True, False]
    assert len(api.sessions(grace)) == 1


def test_list_needs_a_bearer_token(api: Api) -> None:
    assert_error(api.get("/auth/sessions"), 401, "authentication_required")


def test_last_active_moves_with_use(api: Api) -> None:
    login = api.login(EMAIL)
    api.clock.advance(30)
    [session] = api.sessions(login)
    assert session["lastActiveAt"] == "2026-01-15T10:30:00.000Z"  # written at most once a minute
    api.clock.advance(60)
    api.sessions(login)
    [session] = api.sessions(login)
    assert session["lastActiveAt"] == "2026-01-15T10:31:30.000Z"
    api.clock.advance(5)
    pair = data(api.refresh(login.refresh))
    [session] = api.sessions(pair["accessToken"])
    assert session["lastActiveAt"] == "2026-01-15T10:31:35.000Z"


# -- revokeSession ------------------------------------------------------------------------------------------


def test_revoke_session_ends_it_at_once(api: Api) -> None:
    laptop, phone, tablet = three_sessions(api)
    target = next(s for s in api.sessions(laptop) if s["deviceName"] == "phone")
    revoked = data(api.post(f"/sessions/{target['id']}/revoke", token=laptop.access))
    assert revoked == {"id": target["id"], "revokedAt": "2026-01-15T10:32:00.000Z"}
    assert_error(api.get("/auth/me", phone.access), 401, "session_ended")
    assert_error(api.refresh(phone.refresh), 401, "invalid_refresh_token")
    assert [s["deviceName"] for s in api.sessions(laptop)] == ["tablet", "laptop"]
    data(api.refresh(tablet.refresh))


def test_revoke_the_current_session(api: Api) -> None:
    login = api.login(EMAIL)
    [session] = api.sessions(login)
    data(api.post(f"/sessions/{session['id']}/revoke", token=login.access))
    assert_error(api.get("/auth/me", login.access), 401, "session_ended")


def test_revoke_an_unknown_or_foreign_session_is_the_same_404(api: Api) -> None:
    ada = api.login(EMAIL)
    grace = api.login("grace@example.com")
    [foreign] = api.sessions(grace)
    unknown = api.post(f"/sessions/{uuid.uuid4()}/revoke", token=ada.access)
    other = api.post(f"/sessions/{foreign['id']}/revoke", token=ada.access)
    assert_error(unknown, 404, "session_not_found")
    assert_error(other, 404, "session_not_found")
    assert unknown.json()["errors"] == other.json()["errors"]
    data(api.get("/auth/me", grace.access))  # no effect on the owner


def test_revoke_an_already_revoked_session(api: Api) -> None:
    laptop, _phone, _tablet = three_sessions(api)
    target = next(s for s in api.sessions(laptop) if s["deviceName"] == "phone")
    data(api.post(f"/sessions/{target['id']}/revoke", token=laptop.access))
    response = api.post(f"/sessions/{target['id']}/revoke", token=laptop.access)
    assert_error(response, 409, "session_already_revoked")


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a6bz"])
def test_revoke_session_rejects_malformed_ids(api: Api, bad: str) -> None:
    login = api.login(EMAIL)
    assert_error(api.post(f"/sessions/{bad}/revoke", token=login.access), 400, "validation_failed")


def test_revoke_session_needs_a_bearer_token(api: Api) -> None:
    assert_error(api.post(f"/sessions/{uuid.uuid4()}/revoke"), 401, "authentication_required")


# -- logout ---------------------------------------------------------------------------------------------


def test_logout_without_a_body_ends_every_session(api: Api) -> None:
    sessions = three_sessions(api)
    grace = api.login("grace@example.com")
    assert data(api.client.post("/api/v1/auth/logout", headers=sessions[0].headers)) == {"revokedSessions": 3}
    for login in sessions:
        assert_error(api.get("/auth/me", login.access), 401, "session_ended")
        assert_error(api.refresh(login.refresh), 401, "invalid_refresh_token")
    data(api.get("/auth/me", grace.access))
    data(api.refresh(grace.refresh))


def test_logout_all(api: Api) -> None:
    sessions = three_sessions(api)
    assert data(api.post("/auth/logout", {"scope": "all"}, sessions[1].access)) == {"revokedSessions": 3}
    assert_error(api.get("/auth/me", sessions[0].access), 401, "session_ended")


def test_logout_current(api: Api) -> None:
    laptop, phone, _tablet = three_sessions(api)
    assert data(api.post("/auth/logout", {"scope": "current"}, phone.access)) == {"revokedSessions": 1}
    assert_error(api.get("/auth/me", phone.access), 401, "session_ended")
    assert [s["deviceName"] for s in api.sessions(laptop)] == ["tablet", "laptop"]


def test_logout_others(api: Api) -> None:
    laptop, phone, tablet = three_sessions(api)
    assert data(api.post("/auth/logout", {"scope": "others"}, phone.access)) == {"revokedSessions": 2}
    assert [s["deviceName"] for s in api.sessions(phone)] == ["phone"]
    for login in (laptop, tablet):
        assert_error(api.get("/auth/me", login.access), 401, "session_ended")
    assert data(api.post("/auth/logout", {"scope": "others"}, phone.access)) == {"revokedSessions": 0}


@pytest.mark.parametrize("body", [{"scope": "everything"}, {"scope": "all", "extra": 1}])
def test_logout_rejects_bad_bodies(api: Api, body: dict[str, object]) -> None:
    login = api.login(EMAIL)
    assert_error(api.post("/auth/logout", body, login.access), 400, "validation_failed")
    data(api.get("/auth/me", login.access))


def test_logout_needs_a_bearer_token(api: Api) -> None:
    assert_error(api.post("/auth/logout", {"scope": "all"}), 401, "authentication_required")
