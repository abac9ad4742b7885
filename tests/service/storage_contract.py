"""The storage contract: what every ``Repository`` and ``RateLimiter`` must do, as tests.

Subclass ``RepositoryContract`` (or ``RateLimiterContract``) as ``Test...`` and provide the async
fixture ``repo`` (``limiter``): ``tests/service/test_storage.py`` runs it on SQLite and PostgreSQL;
any other implementation of ``authspec.services.ports`` (the mock's in-memory world) can run the
very same suite. The concurrent cases use ``asyncio.gather``, which makes real concurrent
transactions on a pooled database engine.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from authspec.services.auth import normalize_email
from authspec.services.ports import (
    DuplicateEmail,
    EmailCode,
    RefreshToken,
    RegistrationToken,
    RotateOutcome,
    Session,
    User,
)
from tests.service.support import START

NOW = START


def user(email: str = "ada@example.com") -> User:
    return User(id=str(uuid.uuid4()), email=email, first_name="Ada", last_name="Lovelace", created_at=NOW)


def code(email: str = "ada@example.com", *, at: Any = NOW, ttl: int = 300, attempts: int = 0) -> EmailCode:
    return EmailCode(
        id=str(uuid.uuid4()),
        email=email,
        code_hash=uuid.uuid4().hex * 2,
        created_at=at,
        expires_at=at + timedelta(seconds=ttl),
        attempts=attempts,
    )


def session_with_token(
    owner: User, *, at: Any = NOW, ttl: int = 3600, device: str | None = None
) -> tuple[Session, RefreshToken]:
    session = Session(
        id=str(uuid.uuid4()),
        user_id=owner.id,
        created_at=at,
        last_active_at=at,
        expires_at=at + timedelta(seconds=ttl),
        ip="203.0.113.7",
        user_agent="tests",
        device_name=device,
    )
    token = RefreshToken(
        token_hash=uuid.uuid4().hex * 2,
        session_id=session.id,
        user_id=owner.id,
        created_at=at,
        expires_at=session.expires_at,
    )
    return session, token


def successor_of(parent: RefreshToken, at: Any = NOW) -> RefreshToken:
    return RefreshToken(
        token_hash=uuid.uuid4().hex * 2,
        session_id=parent.session_id,
        user_id=parent.user_id,
        created_at=at,
        expires_at=parent.expires_at,
        parent_hash=parent.token_hash,
    )


class RepositoryContract:
    """Needs an async fixture ``repo`` yielding an empty ``Repository``."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    # -- users -----------------------------------------------------------------------------------
    async def test_users(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        assert await repo.get_user(ada.id) == ada
        assert await repo.get_user_by_email(ada.email) == ada
        assert await repo.get_user(str(uuid.uuid4())) is None
        assert await repo.get_user_by_email("nobody@example.com") is None
        with pytest.raises(DuplicateEmail):
            await repo.create_user(user(ada.email))

    async def test_emails_are_matched_exactly_as_the_services_normalised_them(self, repo: Any) -> None:
        # One rule for every repository: the services store normalize_email's form and look up
        # with it; a repository never folds case on its own.
        ada = user(normalize_email(" Ada.Lovelace@Example.COM "))
        await repo.create_user(ada)
        assert ada.email == "ada.lovelace@example.com"
        assert await repo.get_user_by_email("ada.lovelace@example.com") == ada
        assert await repo.get_user_by_email("Ada.Lovelace@Example.COM") is None

    # -- email codes -----------------------------------------------------------------------------
    async def test_a_code_is_counted_then_consumed_once(self, repo: Any) -> None:
        first = await repo.replace_email_code(code(), max_attempts=5)
        assert await repo.get_email_code(first.email) == first
        assert await repo.register_code_attempt(first.email, first.id, max_attempts=5) == 1
        assert await repo.consume_email_code(first.email, first.id, NOW) is True
        assert await repo.consume_email_code(first.email, first.id, NOW) is False
        assert await repo.register_code_attempt(first.email, first.id, max_attempts=5) is None
        assert (await repo.get_email_code(first.email)).consumed_at == NOW

    async def test_attempts_stop_at_the_maximum(self, repo: Any) -> None:
        stored = await repo.replace_email_code(code(), max_attempts=3)
        counts = [await repo.register_code_attempt(stored.email, stored.id, max_attempts=3) for _ in range(5)]
        assert counts == [1, 2, 3, None, None]

    async def test_concurrent_attempts_are_each_counted(self, repo: Any) -> None:
        stored = await repo.replace_email_code(code(), max_attempts=5)
        counts = await asyncio.gather(
            *(repo.register_code_attempt(stored.email, stored.id, max_attempts=5) for _ in range(30))
        )
        assert sorted(c for c in counts if c is not None) == [1, 2, 3, 4, 5]
        assert counts.count(None) == 25
        assert (await repo.get_email_code(stored.email)).attempts == 5

    async def test_concurrent_consumes_one_wins(self, repo: Any) -> None:
        stored = await repo.replace_email_code(code(), max_attempts=5)
        won = await asyncio.gather(*(repo.consume_email_code(stored.email, stored.id, NOW) for _ in range(10)))
        assert won.count(True) == 1

    async def test_a_new_code_supersedes_the_old_and_keeps_a_live_count(self, repo: Any) -> None:
        old = await repo.replace_email_code(code(), max_attempts=5)
        await repo.register_code_attempt(old.email, old.id, max_attempts=5)
        await repo.register_code_attempt(old.email, old.id, max_attempts=5)
        new = await repo.replace_email_code(code(at=NOW + timedelta(seconds=60)), max_attempts=5)
        assert new.attempts == 2 and new.id != old.id and new.consumed_at is None
        assert await repo.register_code_attempt(old.email, old.id, max_attempts=5) is None  # superseded
        assert await repo.consume_email_code(old.email, old.id, NOW) is False
        assert (await repo.get_email_code(old.email)).id == new.id

    @pytest.mark.parametrize("ending", ["expired", "consumed", "voided"])
    async def test_a_new_code_starts_fresh_after_the_old_one_ended(self, repo: Any, ending: str) -> None:
        old = await repo.replace_email_code(code(ttl=60), max_attempts=2)
        await repo.register_code_attempt(old.email, old.id, max_attempts=2)
        at = NOW + timedelta(seconds=30)
        if ending == "expired":
            at = NOW + timedelta(seconds=61)
        elif ending == "consumed":
            await repo.consume_email_code(old.email, old.id, NOW)
        else:
            await repo.register_code_attempt(old.email, old.id, max_attempts=2)
        new = await repo.replace_email_code(code(at=at), max_attempts=2)
        assert new.attempts == 0

    # -- registration tokens ---------------------------------------------------------------------------
    async def test_registration_tokens_are_used_once_and_expire(self, repo: Any) -> None:
        token = RegistrationToken(
            token_hash="a" * 64, email="ada@example.com", created_at=NOW, expires_at=NOW + timedelta(seconds=900)
        )
        await repo.put_registration_token(token)
        assert await repo.get_registration_token(token.token_hash) == token
        assert await repo.get_registration_token("b" * 64) is None
        late = NOW + timedelta(seconds=900)
        assert await repo.consume_registration_token(token.token_hash, late) is False
        won = await asyncio.gather(*(repo.consume_registration_token(token.token_hash, NOW) for _ in range(8)))
        assert won.count(True) == 1
        assert (await repo.get_registration_token(token.token_hash)).consumed_at == NOW

    # -- sessions ---------------------------------------------------------------------------------------
    async def test_sessions_are_listed_newest_first_while_active(self, repo: Any) -> None:
        ada, grace = user(), user("grace@example.com")
        await repo.create_user(ada)
        await repo.create_user(grace)
        made = []
        for n in range(3):
            session, token = session_with_token(ada, at=NOW + timedelta(seconds=n), device=f"d{n}")
            await repo.start_session(session, token)
            made.append(session)
        await repo.start_session(*session_with_token(grace))
        short, short_token = session_with_token(ada, ttl=10)
        await repo.start_session(short, short_token)
        assert await repo.get_session(made[0].id) == made[0]
        assert await repo.get_refresh_token(short_token.token_hash) == short_token
        listed = await repo.list_active_sessions(ada.id, NOW + timedelta(seconds=20))
        assert [s.device_name for s in listed] == ["d2", "d1", "d0"]
        assert await repo.revoke_session(made[1].id, NOW, "revoked") is True
        listed = await repo.list_active_sessions(ada.id, NOW + timedelta(seconds=20))
        assert [s.id for s in listed] == [made[2].id, made[0].id]

    async def test_touch_only_moves_forward(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        session, token = session_with_token(ada)
        await repo.start_session(session, token)
        await repo.touch_session(session.id, NOW + timedelta(seconds=90))
        await repo.touch_session(session.id, NOW + timedelta(seconds=30))
        assert (await repo.get_session(session.id)).last_active_at == NOW + timedelta(seconds=90)

    async def test_revoking_a_session_revokes_its_tokens_once(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        session, token = session_with_token(ada)
        await repo.start_session(session, token)
        won = await asyncio.gather(*(repo.revoke_session(session.id, NOW, "logout") for _ in range(6)))
        assert won.count(True) == 1
        ended = await repo.get_session(session.id)
        assert ended.revoked_at == NOW and ended.revoked_reason == "logout" and not ended.active_at(NOW)
        assert (await repo.get_refresh_token(token.token_hash)).revoked_at == NOW
        assert await repo.revoke_session(str(uuid.uuid4()), NOW, "logout") is False

    async def test_revoke_user_sessions_keeps_the_exception(self, repo: Any) -> None:
        ada, grace = user(), user("grace@example.com")
        await repo.create_user(ada)
        await repo.create_user(grace)
        pairs = [session_with_token(ada) for _ in range(3)]
        for session, token in pairs:
            await repo.start_session(session, token)
        await repo.start_session(*session_with_token(grace))
        keep = pairs[0][0].id
        ended = await repo.revoke_user_sessions(ada.id, NOW, "logout", except_session_id=keep)
        assert sorted(ended) == sorted(s.id for s, _ in pairs[1:])
        assert [s.id for s in await repo.list_active_sessions(ada.id, NOW)] == [keep]
        assert len(await repo.list_active_sessions(grace.id, NOW)) == 1
        assert await repo.revoke_user_sessions(ada.id, NOW, "logout") == [keep]
        assert await repo.revoke_user_sessions(ada.id, NOW, "logout") == []

    # -- refresh tokens -----------------------------------------------------------------------------------
    async def test_rotation(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        session, parent = session_with_token(ada)
        await repo.start_session(session, parent)
        child = successor_of(parent)
        later = NOW + timedelta(seconds=5)
        assert await repo.rotate_refresh_token(parent.token_hash, child, later) is RotateOutcome.ROTATED
        stored = await repo.get_refresh_token(parent.token_hash)
        assert stored.rotated_at == later and stored.successor_hash == child.token_hash
        assert await repo.get_refresh_token(child.token_hash) == child
        assert (await repo.get_session(session.id)).last_active_at == later
        again = successor_of(parent)
        assert await repo.rotate_refresh_token(parent.token_hash, again, later) is RotateOutcome.ALREADY_ROTATED
        assert await repo.get_refresh_token(again.token_hash) is None

    async def test_concurrent_rotations_one_wins(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        session, parent = session_with_token(ada)
        await repo.start_session(session, parent)
        outcomes = await asyncio.gather(
            *(repo.rotate_refresh_token(parent.token_hash, successor_of(parent), NOW) for _ in range(12))
        )
        assert outcomes.count(RotateOutcome.ROTATED) == 1
        assert outcomes.count(RotateOutcome.ALREADY_ROTATED) == 11

    async def test_no_rotation_of_dead_tokens(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        unknown = successor_of(session_with_token(ada)[1])
        assert await repo.rotate_refresh_token("f" * 64, unknown, NOW) is RotateOutcome.INACTIVE
        session, parent = session_with_token(ada, ttl=60)
        await repo.start_session(session, parent)
        late = NOW + timedelta(seconds=60)
        assert await repo.rotate_refresh_token(parent.token_hash, successor_of(parent), late) is RotateOutcome.INACTIVE
        await repo.revoke_session(session.id, NOW, "revoked")
        assert await repo.rotate_refresh_token(parent.token_hash, successor_of(parent), NOW) is RotateOutcome.INACTIVE

    async def test_rotation_racing_revocation_leaves_no_live_descendant(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        for _ in range(5):
            session, parent = session_with_token(ada)
            await repo.start_session(session, parent)
            child = successor_of(parent)
            outcome, _ = await asyncio.gather(
                repo.rotate_refresh_token(parent.token_hash, child, NOW),
                repo.revoke_session(session.id, NOW, "refresh_token_reused"),
            )
            stored = await repo.get_refresh_token(child.token_hash)
            if outcome is RotateOutcome.ROTATED:
                assert stored is not None and stored.revoked_at is not None
            else:
                assert stored is None

    # -- the revocation feed -----------------------------------------------------------------------------
    async def test_every_revocation_adds_one_feed_entry_in_order(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        pairs = [session_with_token(ada) for _ in range(4)]
        for session, token in pairs:
            await repo.start_session(session, token)
        assert await repo.latest_revocation_id() == 0 and await repo.list_revocations(0, 10) == []
        assert await repo.revoke_session(pairs[0][0].id, NOW, "revoked") is True
        assert await repo.revoke_session(pairs[0][0].id, NOW, "revoked") is False  # no second entry
        later = NOW + timedelta(seconds=5)
        ended = await repo.revoke_user_sessions(ada.id, later, "logout", except_session_id=pairs[1][0].id)
        entries = await repo.list_revocations(0, 10)
        assert [e.session_id for e in entries] == [pairs[0][0].id, *sorted(ended)]
        assert [e.id for e in entries] == sorted({e.id for e in entries})  # strictly increasing
        assert entries[0].ended_at == NOW and entries[0].session_expires_at == pairs[0][0].expires_at
        assert {e.ended_at for e in entries[1:]} == {later}
        assert await repo.latest_revocation_id() == entries[-1].id
        assert await repo.list_revocations(entries[0].id, 2) == entries[1:3]
        assert await repo.list_revocations(entries[-1].id, 10) == []

    async def test_concurrent_revocations_get_distinct_increasing_ids(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        pairs = [session_with_token(ada) for _ in range(6)]
        for session, token in pairs:
            await repo.start_session(session, token)
        await asyncio.gather(*(repo.revoke_session(s.id, NOW, "revoked") for s, _ in pairs))
        entries = await repo.list_revocations(0, 100)
        assert sorted(e.session_id for e in entries) == sorted(s.id for s, _ in pairs)
        assert len({e.id for e in entries}) == 6 and [e.id for e in entries] == sorted(e.id for e in entries)

    async def test_purge_drops_feed_entries_of_expired_sessions_and_never_reuses_their_ids(self, repo: Any) -> None:
        ada = user()
        await repo.create_user(ada)
        short, short_token = session_with_token(ada, ttl=10)
        long, long_token = session_with_token(ada, ttl=3600)
        await repo.start_session(short, short_token)
        await repo.start_session(long, long_token)
        await repo.revoke_session(long.id, NOW, "revoked")
        await repo.revoke_session(short.id, NOW, "revoked")
        newest = await repo.latest_revocation_id()
        await repo.purge_expired(NOW + timedelta(seconds=60))
        assert [e.session_id for e in await repo.list_revocations(0, 10)] == [long.id]
        again, again_token = session_with_token(ada)
        await repo.start_session(again, again_token)
        await repo.revoke_session(again.id, NOW, "revoked")
        assert [e.session_id for e in await repo.list_revocations(newest, 10)] == [again.id]

    # -- operations --------------------------------------------------------------------------------------
    async def test_ping_and_purge(self, repo: Any) -> None:
        await repo.ping()
        ada = user()
        await repo.create_user(ada)
        old, old_token = session_with_token(ada, ttl=10)
        live, live_token = session_with_token(ada, ttl=3600)
        await repo.start_session(old, old_token)
        await repo.start_session(live, live_token)
        await repo.replace_email_code(code(ttl=10), max_attempts=5)
        assert await repo.purge_expired(NOW + timedelta(seconds=60)) >= 3
        assert await repo.get_session(old.id) is None and await repo.get_refresh_token(old_token.token_hash) is None
        assert await repo.get_session(live.id) is not None
        assert await repo.get_email_code("ada@example.com") is None


class RateLimiterContract:
    """Needs an async fixture ``limiter`` yielding an empty ``RateLimiter``; ``follows_clock`` says
    whether its windows follow the ``now`` passed in (Redis keeps its own time)."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.anyio]

    follows_clock = True

    async def test_counts_within_a_window(self, limiter: Any) -> None:
        key = f"k-{uuid.uuid4().hex}"
        assert [await limiter.hit(key, limit=2, window=60, now=NOW) for _ in range(3)][:2] == [0, 0]
        wait = await limiter.hit(key, limit=2, window=60, now=NOW)
        assert 1 <= wait <= 60
        assert await limiter.hit(f"other-{key}", limit=2, window=60, now=NOW) == 0

    async def test_a_window_reopens(self, limiter: Any) -> None:
        if not self.follows_clock:
            pytest.skip("this limiter keeps its own clock")
        key = f"k-{uuid.uuid4().hex}"
        assert await limiter.hit(key, limit=1, window=60, now=NOW) == 0
        assert await limiter.hit(key, limit=1, window=60, now=NOW + timedelta(seconds=20)) == 40
        assert await limiter.hit(key, limit=1, window=60, now=NOW + timedelta(seconds=60)) == 0

    async def test_release_reopens_a_cooldown(self, limiter: Any) -> None:
        key = f"k-{uuid.uuid4().hex}"
        assert await limiter.hit(key, limit=1, window=60, now=NOW) == 0
        assert await limiter.hit(key, limit=1, window=60, now=NOW) > 0
        await limiter.release(key, now=NOW)
        assert await limiter.hit(key, limit=1, window=60, now=NOW) == 0  # as if nothing had been counted
        assert await limiter.hit(key, limit=1, window=60, now=NOW) > 0
        await limiter.release(f"unknown-{key}", now=NOW)  # a no-op

    async def test_concurrent_hits_are_each_counted(self, limiter: Any) -> None:
        key = f"k-{uuid.uuid4().hex}"
        waits = await asyncio.gather(*(limiter.hit(key, limit=5, window=60, now=NOW) for _ in range(25)))
        assert waits.count(0) == 5

    async def test_count_returns_the_events_of_the_window(self, limiter: Any) -> None:
        key = f"k-{uuid.uuid4().hex}"
        assert [await limiter.count(key, window=60, now=NOW) for _ in range(3)] == [1, 2, 3]
        assert await limiter.count(f"other-{key}", window=60, now=NOW) == 1

    async def test_extend_makes_a_window_last_and_keeps_its_count(self, limiter: Any) -> None:
        lock = f"lock-{uuid.uuid4().hex}"
        assert await limiter.remaining(lock, now=NOW) == 0
        await limiter.extend(lock, seconds=900, now=NOW)
        assert 899 <= await limiter.remaining(lock, now=NOW) <= 900
        await limiter.extend(lock, seconds=10, now=NOW)  # never shortens
        assert await limiter.remaining(lock, now=NOW) >= 899
        counter = f"k-{uuid.uuid4().hex}"
        assert await limiter.count(counter, window=60, now=NOW) == 1
        await limiter.extend(counter, seconds=3600, now=NOW)
        assert await limiter.remaining(counter, now=NOW) >= 3599
        assert await limiter.count(counter, window=60, now=NOW) == 2

    async def test_extended_windows_end_on_the_clock(self, limiter: Any) -> None:
        if not self.follows_clock:
            pytest.skip("this limiter keeps its own clock")
        key = f"k-{uuid.uuid4().hex}"
        assert await limiter.count(key, window=60, now=NOW) == 1
        await limiter.extend(key, seconds=600, now=NOW)
        assert await limiter.count(key, window=60, now=NOW + timedelta(seconds=599)) == 2
        assert await limiter.remaining(key, now=NOW + timedelta(seconds=300)) == 300
        assert await limiter.remaining(key, now=NOW + timedelta(seconds=600)) == 0
        assert await limiter.count(key, window=60, now=NOW + timedelta(seconds=600)) == 1  # a new window
        await limiter.release(key, now=NOW)
        assert await limiter.remaining(key, now=NOW) == 0
