"""The in-memory store keeps the promises of ``authspec.services.ports`` (atomic steps included)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from authspec.mock.world import MemoryRateLimiter, MemoryRepository

from authspec.services.ports import (
    DuplicateEmail,
    EmailCode,
    ExchangeOutcome,
    RateLimiter,
    RefreshToken,
    RegistrationToken,
    Repository,
    Session,
    User,
)

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
ADA = User("0b5e4a52-6f1e-4c3a-9d43-2a1f3c7e8b90", "ada@example.com", "Ada", "Lovelace", T0)


def _session(sid: str, at: datetime = T0, user: str = ADA.id) -> tuple[Session, RefreshToken]:
    session = Session(id=sid, user_id=user, created_at=at, last_active_at=at, expires_at=at + timedelta(days=30))
    return session, RefreshToken(f"h-{sid}", sid, user, at, session.expires_at)


def _code(code_id: str, at: datetime = T0, attempts: int = 0) -> EmailCode:
    return EmailCode(code_id, ADA.email, f"hash-{code_id}", at, at + timedelta(seconds=300), attempts)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_it_implements_the_ports() -> None:
    assert isinstance(MemoryRepository(), Repository)
    assert isinstance(MemoryRateLimiter(), RateLimiter)


async def test_users() -> None:
    repo = MemoryRepository([ADA])
    assert await repo.get_user(ADA.id) == ADA
    assert await repo.get_user_by_email(ADA.email) == ADA
    with pytest.raises(DuplicateEmail):
        await repo.create_user(User("other", ADA.email, "A", "B", T0))


async def test_codes_attempts_survive_a_resend_of_a_live_code() -> None:
    repo = MemoryRepository()
    await repo.replace_email_code(_code("c1"), max_attempts=5)
    assert await repo.register_code_attempt(ADA.email, "c1", max_attempts=5) == 1
    assert await repo.register_code_attempt(ADA.email, "c1", max_attempts=5) == 2
    resent = await repo.replace_email_code(_code("c2", T0 + timedelta(seconds=60)), max_attempts=5)
    assert resent.attempts == 2
    assert await repo.register_code_attempt(ADA.email, "c1", max_attempts=5) is None  # superseded
    expired_resend = await repo.replace_email_code(_code("c3", T0 + timedelta(seconds=400)), max_attempts=5)
    assert expired_resend.attempts == 0
    counts = await asyncio.gather(*(repo.register_code_attempt(ADA.email, "c3", max_attempts=5) for _ in range(8)))
    assert sorted(c for c in counts if c is not None) == [1, 2, 3, 4, 5] and counts.count(None) == 3
    fresh = await repo.replace_email_code(_code("c4", T0 + timedelta(seconds=401)), max_attempts=5)
    assert fresh.attempts == 0  # the previous code was used up, so it was not live
    assert await repo.consume_email_code(ADA.email, "c4", T0) is True
    assert await repo.consume_email_code(ADA.email, "c4", T0) is False
    assert await repo.register_code_attempt(ADA.email, "c4", max_attempts=5) is None


async def test_registration_tokens_are_single_use_and_expire() -> None:
    repo = MemoryRepository()
    await repo.put_registration_token(RegistrationToken("r1", ADA.email, T0, T0 + timedelta(seconds=900)))
    await repo.put_registration_token(RegistrationToken("r2", ADA.email, T0, T0 + timedelta(seconds=900)))
    assert await repo.consume_registration_token("r1", T0) is True
    assert await repo.consume_registration_token("r1", T0) is False
    assert await repo.consume_registration_token("r2", T0 + timedelta(seconds=900)) is False
    assert await repo.consume_registration_token("missing", T0) is False


async def test_exchange_outcomes_and_concurrency() -> None:
    repo = MemoryRepository([ADA])
    session, first = _session("s1")
    await repo.start_session(session, first)
    later = T0 + timedelta(seconds=5)
    until = later + timedelta(days=60)  # past the session's end: the successor keeps the session's

    def exchange(parent: str, successor: str, at: datetime = later) -> Any:
        return repo.exchange_refresh_token(parent, successor, at, expires_at=until, grace=10, idle_ttl=0)

    outcomes = [e.outcome for e in await asyncio.gather(*(exchange("h-s1", f"child-{n}") for n in range(6)))]
    assert outcomes.count(ExchangeOutcome.ROTATED) == 1
    assert outcomes.count(ExchangeOutcome.GRACE) == 5
    winner = f"child-{outcomes.index(ExchangeOutcome.ROTATED)}"
    parent = await repo.get_refresh_token("h-s1")
    assert parent is not None and parent.successor_hash == winner and parent.rotated_at == later
    assert (await repo.get_refresh_token(winner)).expires_at == session.expires_at  # type: ignore[union-attr]
    assert (await repo.get_session("s1")).last_active_at == later  # type: ignore[union-attr]
    assert (await exchange("unknown", "x")).outcome is ExchangeOutcome.INVALID
    # Once the session ends nothing rotates and its tokens are revoked.
    assert await repo.revoke_session("s1", later, "logout") is True
    assert await repo.revoke_session("s1", later, "logout") is False
    assert (await exchange(winner, "grandchild")).outcome is ExchangeOutcome.INVALID
    assert (await repo.get_refresh_token(winner)).revoked_at == later  # type: ignore[union-attr]


async def test_listing_touching_and_revoking_user_sessions() -> None:
    repo = MemoryRepository([ADA])
    for n in range(3):
        await repo.start_session(*_session(f"s{n}", T0 + timedelta(minutes=n)))
    await repo.start_session(*_session("other", T0, user="someone-else"))
    listed = await repo.list_active_sessions(ADA.id, T0 + timedelta(hours=1))
    assert [s.id for s in listed] == ["s2", "s1", "s0"]
    await repo.touch_session("s0", T0 + timedelta(hours=1))
    await repo.touch_session("s0", T0)  # never moves back
    assert (await repo.get_session("s0")).last_active_at == T0 + timedelta(hours=1)  # type: ignore[union-attr]
    ended = await repo.revoke_user_sessions(ADA.id, T0 + timedelta(hours=2), "logout", except_session_id="s1")
    assert sorted(ended) == ["s0", "s2"]
    assert [s.id for s in await repo.list_active_sessions(ADA.id, T0 + timedelta(hours=2))] == ["s1"]
    assert await repo.list_active_sessions(ADA.id, T0 + timedelta(days=31)) == []
    assert await repo.purge_expired(T0 + timedelta(days=40)) >= 6


async def test_rate_limiter_fixed_windows() -> None:
    limiter = MemoryRateLimiter()
    assert await limiter.hit("k", limit=2, window=60, now=T0) == 0
    assert await limiter.hit("k", limit=2, window=60, now=T0 + timedelta(seconds=1)) == 0
    assert await limiter.hit("k", limit=2, window=60, now=T0 + timedelta(seconds=10)) == 50
    assert await limiter.hit("k", limit=2, window=60, now=T0 + timedelta(seconds=60)) == 0
    assert await limiter.hit("other", limit=1, window=60, now=T0) == 0
    # A clock moved back (the mock's) starts a new window instead of waiting for the old one.
    assert await limiter.hit("k", limit=2, window=60, now=T0 - timedelta(hours=1)) == 0
