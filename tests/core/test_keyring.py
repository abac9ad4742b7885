"""The key schedule of ``authspec.keys``: the file format, which key signs when (by the injected
clock), activation, retirement, and — with the clock seam — that the default publish delay never
lets a verifier holding a cached JWK Set meet a token signed by a key missing from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from authspec.clock import MovableClock
from authspec.credentials import AccessTokens
from authspec.keys import JWKS_MAX_AGE, KEY_RELOAD_SECONDS, Keyring, KeyringError, KeyState, SigningKey
from authspec.settings import Settings

T0 = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


def _tokens(ring: Keyring, clock: MovableClock) -> AccessTokens:
    return AccessTokens(ring, issuer="authspec", audience="authspec-api", ttl=3600, clock=clock)


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_the_file_carries_each_keys_schedule_before_its_pem_block(tmp_path: Path) -> None:
    ring = Keyring.generate(T0).rotated(now=T0 + timedelta(hours=1), delay=310)
    path = tmp_path / "keys.pem"
    ring.save(path)
    lines = path.read_text().splitlines()
    new, old = ring.keys
    assert lines[0] == f"# authspec-key kid={new.kid} created=2026-12-04T19:00:00Z activates-at=2026-12-04T19:05:10Z"
    assert lines[1] == "-----BEGIN PRIVATE KEY-----"
    assert f"# authspec-key kid={old.kid} created=2026-12-04T18:00:00Z activates-at=2026-12-04T18:00:00Z" in lines
    loaded = Keyring.load(path)
    assert [(k.kid, k.created_at, k.activates_at) for k in loaded.keys] == [
        (new.kid, T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=310)),
        (old.kid, T0, T0),
    ]


def test_a_file_without_schedule_lines_still_loads_and_its_keys_have_always_been_active(tmp_path: Path) -> None:
    first, second = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "old.pem"
    path.write_bytes(first.pem() + second.pem())
    ring = Keyring.load(path)
    assert [k.kid for k in ring.keys] == [first.kid, second.kid]
    assert ring.signing_key(datetime(1970, 1, 2, tzinfo=UTC)).kid == first.kid


def test_a_schedule_line_naming_another_key_is_refused(tmp_path: Path) -> None:
    one, two = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "swapped.pem"
    path.write_bytes(f"# authspec-key kid={two.kid}\n".encode() + one.pem())
    with pytest.raises(KeyringError, match=f"the metadata line of kid {two.kid} stands before the key {one.kid}"):
        Keyring.load(path)
    path.write_bytes(f"# authspec-key kid={one.kid} activates-at=tomorrow\n".encode() + one.pem())
    with pytest.raises(KeyringError, match="activates-at=tomorrow is not an RFC 3339 instant"):
        Keyring.load(path)


def test_a_rotated_key_is_published_at_once_and_signs_from_its_activation_time() -> None:
    old_ring = Keyring.generate(T0)
    ring = old_ring.rotated(now=T0, delay=60)
    new, old = ring.keys
    assert [k["kid"] for k in ring.jwks()["keys"]] == [new.kid, old.kid]
    before, at = T0 + timedelta(seconds=59.999), T0 + timedelta(seconds=60)
    assert ring.signing_key(before).kid == old.kid
    assert (ring.state(new, before), ring.state(old, before)) == (KeyState.PENDING, KeyState.SIGNING)
    assert ring.next_activation(before) == at
    assert ring.signing_key(at).kid == new.kid
    assert (ring.state(new, at), ring.state(old, at)) == (KeyState.SIGNING, KeyState.VERIFYING)
    assert ring.next_activation(at) is None
    assert ring.signing_key(before).kid == old.kid  # a clock moved back is answered for its own instant


def test_a_running_instance_switches_to_the_pending_key_at_its_time_without_a_reload() -> None:
    clock = MovableClock(frozen_at=T0)
    ring = Keyring.generate(T0 - timedelta(days=1)).rotated(now=T0, delay=30)
    tokens = _tokens(ring, clock)  # the very same ring object throughout: nothing is re-read
    first, _ = tokens.issue("u1", "s1")
    clock.advance(29)
    second, _ = tokens.issue("u1", "s1")
    clock.advance(1)
    third, _ = tokens.issue("u1", "s1")
    assert [_kid(t) for t in (first, second, third)] == [ring.keys[1].kid, ring.keys[1].kid, ring.keys[0].kid]
    for token in (first, second, third):
        assert tokens.verify(token).sub == "u1"


def test_a_token_issued_again_for_an_earlier_instant_is_the_same_token_across_an_activation() -> None:
    clock = MovableClock(frozen_at=T0)
    tokens = _tokens(Keyring.generate(T0 - timedelta(days=1)).rotated(now=T0, delay=5), clock)
    original, _ = tokens.issue("u1", "s1", jti="j1")
    clock.advance(8)  # the new key signs now; a grace-window replay re-issues the pair of T0
    again, _ = tokens.issue("u1", "s1", jti="j1", issued_at=T0)
    assert again == original


def test_activate_makes_the_newest_or_the_named_key_sign_now() -> None:
    ring = Keyring.generate(T0).rotated(now=T0, delay=300).rotated(now=T0, delay=600)
    newest, middle, oldest = ring.keys
    now = T0 + timedelta(seconds=10)
    assert ring.activated(middle.kid, now).signing_key(now).kid == middle.kid
    assert ring.activated(None, now).signing_key(now).kid == newest.kid
    with pytest.raises(KeyringError, match=f"the key {oldest.kid} is already active \\(signing\\)"):
        ring.activated(oldest.kid, now)
    with pytest.raises(KeyringError, match="no key with kid nope in the ring"):
        ring.activated("nope", now)


def test_retire_never_drops_the_signing_key_or_a_pending_one() -> None:
    ring = Keyring.generate(T0).rotated(now=T0, delay=0).rotated(now=T0, delay=300)
    pending, signing, old = ring.keys
    now = T0 + timedelta(seconds=10)
    assert [k.kid for k in ring.retired(keep=1, now=now).keys] == [pending.kid, signing.kid]
    later = T0 + timedelta(seconds=300)
    assert [k.kid for k in ring.retired(keep=1, now=later).keys] == [pending.kid]
    assert [k.kid for k in ring.retired(keep=3, now=later).keys] == [pending.kid, signing.kid, old.kid]


def test_the_schedule_is_kept_to_the_millisecond(tmp_path: Path) -> None:
    now = T0 + timedelta(seconds=7, microseconds=250_900)
    ring = Keyring.generate(T0).rotated(now=now, delay=3)
    ring.save(tmp_path / "keys.pem")
    assert (
        "created=2026-12-04T18:00:07.250Z activates-at=2026-12-04T18:00:10.250Z" in (tmp_path / "keys.pem").read_text()
    )
    new = Keyring.load(tmp_path / "keys.pem").keys[0]
    assert (new.created_at, new.activates_at) == (ring.keys[0].created_at, ring.keys[0].activates_at)
    assert new.activates_at == T0 + timedelta(seconds=10, milliseconds=250)


def test_the_default_publish_delay_is_the_reload_interval_plus_the_jwks_cache_lifetime() -> None:
    assert Settings().publish_delay == KEY_RELOAD_SECONDS + JWKS_MAX_AGE
    assert Settings(key_reload_interval=1).publish_delay == 1 + JWKS_MAX_AGE
    assert Settings(key_reload_interval=1, key_publish_delay=3).publish_delay == 3


# -- the rollover, simulated on the clock seam -------------------------------------------------------------

STEP = 0.5  # seconds between the instants looked at
PHASES = (0.0, 2.5, 5.0, 7.5, 9.5)  # when, within a reload interval, an instance looks at the file


def _unseen_kids_shown(delay: int, tmp_path: Path) -> list[str]:
    """Every (fetch, token) pair where a verifier that cached the JWK Set of one instance for its
    max-age is handed a token another instance signed with a key that set lacks.

    The key file is rotated at R with ``delay``. Each instance re-reads it every reload interval
    (at its own phase), so it learns of the new key up to an interval late, and signs with
    whatever ring it holds, by the clock. A verifier may fetch the JWK Set from any instance at any
    moment and then keep it for ``JWKS_MAX_AGE`` seconds.
    """
    interval = KEY_RELOAD_SECONDS
    rotated_at = T0
    path = tmp_path / f"keys-{delay}.pem"
    Keyring.generate(T0 - timedelta(days=1)).save(path)
    old_ring = Keyring.load(path)
    old_ring.rotated(now=rotated_at, delay=delay).save(path)
    new_ring = Keyring.load(path)
    clock = MovableClock(frozen_at=T0)
    issuers = {id(old_ring): _tokens(old_ring, clock), id(new_ring): _tokens(new_ring, clock)}

    def ring_of(phase: float, t: float) -> Keyring:
        # The instance reads the file at phase + k * interval (0 <= phase < interval); it holds the
        # new ring from its first read at or after the rotation at R = 0.
        return new_ring if t >= phase else old_ring

    start, end = -float(interval), float(delay + interval + JWKS_MAX_AGE)
    instants = [start + n * STEP for n in range(int((end - start) / STEP) + 1)]
    first_signed: dict[str, float] = {}
    for t in instants:
        clock.set(T0 + timedelta(seconds=t))
        for phase in PHASES:
            token, _ = issuers[id(ring_of(phase, t))].issue("u", "s")
            first_signed.setdefault(_kid(token), t)
    shown = []
    for fetched in instants:
        for phase in PHASES:
            cached = {k["kid"] for k in ring_of(phase, fetched).jwks()["keys"]}
            for kid, signed_from in first_signed.items():
                if kid not in cached and signed_from < fetched + JWKS_MAX_AGE:
                    shown.append(f"JWKS fetched at R{fetched:+} lacks {kid[:8]}, signed from R{signed_from:+}")
    return shown


def test_with_the_default_delay_no_cached_jwks_misses_the_key_of_a_token(tmp_path: Path) -> None:
    assert _unseen_kids_shown(Settings().publish_delay, tmp_path) == []


def test_with_the_cache_lifetime_alone_as_delay_a_cached_jwks_would_miss_the_new_key(tmp_path: Path) -> None:
    # The control: the simulation does find the gap that the reload interval's share closes.
    shown = _unseen_kids_shown(JWKS_MAX_AGE, tmp_path)
    assert shown and all("lacks" in line for line in shown)
