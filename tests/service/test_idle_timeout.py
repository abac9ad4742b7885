"""The idle timeout (issue 13): a session unused for ``AUTHSPEC_SESSION_IDLE_TTL`` seconds ends.

Idle time is measured from ``lastActiveAt``, which authenticated requests write at most once per
``AUTHSPEC_SESSION_TOUCH_INTERVAL`` and every refresh writes; these tests pin both edges of that
precision on the test clock, on every storage backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from authspec.settings import Settings
from tests.helpers import assert_error
from tests.service.support import Api, data

EMAIL = "ada@example.com"
IDLE = 600  # ten minutes; the touch interval stays at its default, 60 s


@pytest.fixture
def idle_api(make_api: Callable[..., Api]) -> Api:
    return make_api(session_idle_ttl=IDLE)


def test_an_idle_session_ends_for_its_access_and_refresh_tokens(idle_api: Api) -> None:
    api = idle_api
    idle = api.login(EMAIL, device="idle")
    api.clock.advance(IDLE - 1)
    busy = api.login(EMAIL, device="busy")
    data(api.get("/auth/me", idle.access))  # 599 s idle: still alive (and touched now)
    api.clock.advance(IDLE)
    assert_error(api.get("/auth/me", idle.access), 401, "session_ended")  # the access token has not expired
    assert_error(api.refresh(idle.refresh), 401, "invalid_refresh_token")  # as an expired session's
    assert_error(api.get("/auth/me", busy.access), 401, "session_ended")
    fresh = api.login(EMAIL, device="fresh")
    assert [s["deviceName"] for s in api.sessions(fresh)] == ["fresh"]  # ended sessions are not listed


def test_use_keeps_a_session_alive(idle_api: Api) -> None:
    api = idle_api
    login = api.login(EMAIL)
    for _ in range(5):  # 5 × 599 s = almost 50 min, far past one idle period
        api.clock.advance(IDLE - 1)
        data(api.get("/auth/me", login.access))
    pair = data(api.refresh(login.refresh))
    for _ in range(3):  # refreshes alone keep it alive too: each one moves lastActiveAt
        api.clock.advance(IDLE - 1)
        pair = data(api.refresh(pair["refreshToken"]))
    [session] = api.sessions(pair["accessToken"])
    assert session["lastActiveAt"] == api.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_idle_is_measured_from_last_active_at_within_the_touch_interval(idle_api: Api) -> None:
    api = idle_api
    login = api.login(EMAIL)  # lastActiveAt = login
    api.clock.advance(api.settings.session_touch_interval - 1)
    data(api.get("/auth/me", login.access))  # used, but lastActiveAt is not written (59 s < 60 s)
    [session] = api.sessions(login)
    assert session["lastActiveAt"] == "2026-01-15T10:30:00.000Z"
    # The session ends IDLE after lastActiveAt: here 541 s after its last use (never later than IDLE).
    api.clock.advance(IDLE - (api.settings.session_touch_interval - 1))
    assert_error(api.get("/auth/me", login.access), 401, "session_ended")


def test_an_idle_session_cannot_be_revoked_again(idle_api: Api) -> None:
    api = idle_api
    old = api.login(EMAIL, device="old")
    [session] = api.sessions(old)
    api.clock.advance(IDLE)
    new = api.login(EMAIL, device="new")
    assert_error(api.post(f"/sessions/{session['id']}/revoke", token=new.access), 409, "session_already_revoked")


def test_zero_turns_the_idle_timeout_off(make_api: Callable[..., Api]) -> None:
    api = make_api(session_idle_ttl=0)
    login = api.login(EMAIL)
    api.clock.advance(29 * 86_400)  # idle for 29 days, inside the 30-day absolute lifetime
    data(api.refresh(login.refresh))


def test_the_default_is_fourteen_days(make_api: Callable[..., Api]) -> None:
    api = make_api()
    assert api.settings.session_idle_ttl == 1_209_600
    login = api.login(EMAIL)
    api.clock.advance(1_209_600 - 1)
    pair = data(api.refresh(login.refresh))
    api.clock.advance(1_209_600)
    assert_error(api.refresh(pair["refreshToken"]), 401, "invalid_refresh_token")


@pytest.mark.parametrize("idle", [1, 60])
def test_an_idle_timeout_not_longer_than_the_touch_interval_is_refused(idle: int) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(session_idle_ttl=idle, session_touch_interval=60)
    message = str(refused.value)
    assert "AUTHSPEC_SESSION_IDLE_TTL" in message and "AUTHSPEC_SESSION_TOUCH_INTERVAL" in message
