"""``authspec.verify.Verifier`` against a fake authspec (tests/verify/fake.py), in-process: local
verification with no request while the feed is fresh, the bounded JWKS refetch on an unknown kid,
revocations through the feed, introspection when the feed is behind, fail closed and fail open,
and wrong resource-server credentials."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from authspec.verify import ConfigurationError, TokenRejected, Unavailable, Verifier
from tests.verify.fake import AUDIENCE, BASE, CLIENT_ID, CLIENT_SECRET, ISSUER, FakeAuthspec, Key

pytestmark = pytest.mark.anyio

BOUND = 2.0


@asynccontextmanager
async def verifier(fake: FakeAuthspec, **options: Any) -> AsyncIterator[Verifier]:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "client_id": CLIENT_ID,
                                "client_secret": CLIENT_SECRET, "max_staleness": BOUND, "timeout": 0.5}  # fmt: skip
    settings.update(options)
    http = fake.client()
    try:
        async with Verifier(BASE, http=http, **settings) as started:
            yield started
    finally:
        await http.aclose()


async def until(condition: Callable[[], Any], within: float) -> float:
    """Seconds until ``condition()`` holds (checked every 10 ms); fails after ``within``."""
    began = time.monotonic()
    while not await condition():
        assert time.monotonic() - began < within, "the condition did not hold in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - began


async def refused(v: Verifier, token: str) -> bool:
    try:
        await v.verify(token)
    except (TokenRejected, Unavailable):
        return True
    return False


async def test_valid_tokens_are_verified_locally_while_the_feed_is_fresh(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        tokens = [fake.token() for _ in range(50)]
        for _ in range(3):
            for token in tokens:
                assert (await v.verify(token)).sub == "user-1"
        assert v.feed_fresh
        assert fake.calls["introspect"] == 0 and fake.calls["jwks"] == 1


async def test_a_revoked_session_is_refused_once_the_feed_brings_it(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        token = fake.token(sid="s-revoked")
        await v.verify(token)
        fake.revoke("s-revoked")
        delay = await until(lambda: refused(v, token), within=BOUND + 1)
        print(f"revocation applied after {delay * 1000:.0f} ms (bound {BOUND} s)")
        with pytest.raises(TokenRejected) as refusal:
            await v.verify(token)
        assert refusal.value.code == "session_ended"
        await v.verify(fake.token())  # other sessions are not touched
        assert fake.calls["introspect"] == 0


async def test_revocations_made_before_the_start_are_known_at_once(fake: FakeAuthspec) -> None:
    fake.revoke("s-old")
    async with verifier(fake) as v:
        with pytest.raises(TokenRejected):
            await v.verify(fake.token(sid="s-old"))


async def test_an_unknown_kid_refetches_the_jwks_once_and_a_new_key_is_found(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        new = Key()
        fake.keys.insert(0, new)
        token = fake.token(key=new)
        for _ in range(20):
            await v.verify(token)
        assert fake.calls["jwks"] == 2


async def test_tokens_of_unknown_keys_refetch_the_jwks_at_most_once_per_interval(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        for _ in range(200):
            with pytest.raises(TokenRejected):
                await v.verify(fake.token(key=Key()))
        assert fake.calls["jwks"] == 2  # the start, then one refetch


async def test_when_the_feed_is_behind_each_token_is_introspected(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        fake.feed_broken = True
        await until(lambda: _async(not v.feed_fresh), within=BOUND + 3)
        token = fake.token(sid="s-late")
        await v.verify(token)
        await v.verify(token)
        assert fake.calls["introspect"] == 1  # the answer is reused within the bound
        fake.revoke("s-late")
        delay = await until(lambda: refused(v, token), within=BOUND + 1)
        print(f"revocation applied through introspection after {delay * 1000:.0f} ms")
        fake.feed_broken = False
        await until(lambda: _async(v.feed_fresh), within=BOUND + 3)
        calls = fake.calls["introspect"]
        await v.verify(fake.token())
        assert fake.calls["introspect"] == calls


async def test_with_authspec_unreachable_past_the_bound_tokens_are_refused(
    fake: FakeAuthspec, caplog: pytest.LogCaptureFixture
) -> None:
    async with verifier(fake) as v:
        token = fake.token()
        await v.verify(token)
        fake.down = True
        with caplog.at_level(logging.WARNING, logger="authspec.verify"):
            delay = await until(lambda: refused(v, token), within=BOUND + 3)
            print(f"refusing (fail closed) {delay * 1000:.0f} ms after authspec went down")
            for _ in range(20):
                with pytest.raises(Unavailable):
                    await v.verify(token)
        episode = [r for r in caplog.records if "refusing tokens (fail closed)" in r.getMessage()]
        assert len(episode) == 1
        assert token not in caplog.text and CLIENT_SECRET not in caplog.text
        fake.down = False
        await until(lambda: _async(v.feed_fresh), within=BOUND + 3)
        await v.verify(token)


async def test_fail_open_accepts_locally_valid_tokens_while_authspec_is_unreachable(fake: FakeAuthspec) -> None:
    async with verifier(fake, fail_open=True) as v:
        token = fake.token(sid="s-1")
        fake.revoke("s-1")
        await until(lambda: refused(v, token), within=BOUND + 1)
        fake.down = True
        await until(lambda: _async(not v.feed_fresh), within=BOUND + 3)
        other = fake.token()
        for _ in range(5):
            assert (await v.verify(other)).sub == "user-1"
        with pytest.raises(TokenRejected):  # the deny-list still holds what the feed brought
            await v.verify(token)


async def test_wrong_credentials_are_a_configuration_error_and_every_token_is_refused(
    fake: FakeAuthspec, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigurationError, match="AUTHSPEC_INTROSPECTION_CLIENTS"):
        async with verifier(fake, client_secret="wrong-secret"):
            pass
    assert "wrong-secret" not in caplog.text
    lazy = Verifier(BASE, issuer=ISSUER, audience=AUDIENCE, client_id="nobody", client_secret="x", fail_open=True,
                    max_staleness=BOUND, http=fake.client())  # fmt: skip
    try:
        for _ in range(3):
            with pytest.raises(Unavailable, match="credentials"):
                await lazy.verify(fake.token())
    finally:
        await lazy.stop()


async def test_expired_deny_list_entries_are_dropped(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        fake.revoke("s-gone", exp=int(time.time()) - 60)
        fake.revoke("s-kept")
        await until(lambda: _async("s-kept" in v.denied), within=BOUND + 1)
        v._pruned = 0  # the prune runs every 30 s; now
        fake.revoke("s-next")
        await until(lambda: _async("s-next" in v.denied), within=BOUND + 1)
        assert "s-gone" not in v.denied and "s-kept" in v.denied


def test_the_long_poll_waits_less_than_the_bound() -> None:
    v = Verifier(BASE, issuer=ISSUER, audience=AUDIENCE, client_id="a", client_secret="b", max_staleness=5)
    assert v.feed_wait == 3
    with pytest.raises(ConfigurationError, match="feed_wait"):
        Verifier(BASE, issuer=ISSUER, audience=AUDIENCE, client_id="a", client_secret="b", feed_wait=10)
    with pytest.raises(ConfigurationError, match="issuer"):
        Verifier(BASE, issuer="", audience=AUDIENCE, client_id="a", client_secret="b")


async def _async(value: object) -> object:
    return value


async def test_keys_past_their_max_age_are_refreshed_in_the_background(fake: FakeAuthspec) -> None:
    async with verifier(fake) as v:
        token = fake.token()
        await v.verify(token)
        fake.down = True
        v._keys_expire = 0  # max-age is over
        await v.verify(token)  # served from the keys it has, while the refresh fails aside
        await asyncio.sleep(0.05)
        fake.down = False
        v._keys_expire = 0
        await v.verify(token)
        await until(lambda: _async(fake.calls["jwks"] == 2), within=2)
