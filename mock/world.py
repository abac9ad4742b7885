"""The mock's in-memory world: ``authspec.services.ports.Repository`` and ``RateLimiter`` in dicts.

The domain rules live in ``authspec.services``; this module only stores what they decide, with
the atomicity the ports ask for. No method awaits anything, so under one event loop each call
is a single indivisible step. Nothing here reads the wall clock: every instant comes from the
caller (the namespace's movable clock). One ``MemoryRepository`` per namespace; ``reset`` is a
new one built from the fixtures.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta

from authspec.services.ports import (
    DuplicateEmail,
    EmailCode,
    Exchange,
    ExchangeOutcome,
    RefreshToken,
    RegistrationToken,
    Revocation,
    Session,
    User,
    exchangeable,
    in_grace,
    is_current,
    successor_token,
)


class MemoryRepository:
    """Users, codes, registration tokens, sessions and refresh tokens, in dicts."""

    def __init__(self, users: list[User] | None = None) -> None:
        self.users: dict[str, User] = {}
        self.user_ids_by_email: dict[str, str] = {}
        self.codes: dict[str, EmailCode] = {}
        self.registration_tokens: dict[str, RegistrationToken] = {}
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revocations: list[Revocation] = []  # the feed, in id order
        self._last_revocation_id = 0  # never handed out again, even once purged
        for user in users or []:
            self._insert_user(user)

    # -- users -----------------------------------------------------------------------------------
    def _insert_user(self, user: User) -> None:
        key = user.email
        if key in self.user_ids_by_email:
            raise DuplicateEmail(user.email)
        self.users[user.id] = user
        self.user_ids_by_email[key] = user.id

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        user_id = self.user_ids_by_email.get(email)
        return self.users.get(user_id) if user_id else None

    async def create_user(self, user: User) -> None:
        self._insert_user(user)

    # -- email codes -----------------------------------------------------------------------------
    async def replace_email_code(self, code: EmailCode, *, max_attempts: int) -> EmailCode:
        previous = self.codes.get(code.email)
        live = (
            previous is not None
            and previous.consumed_at is None
            and code.created_at < previous.expires_at
            and previous.attempts < max_attempts
        )
        stored = dataclasses.replace(code, attempts=previous.attempts) if live and previous else code
        self.codes[code.email] = stored
        return stored

    async def get_email_code(self, email: str) -> EmailCode | None:
        return self.codes.get(email)

    async def register_code_attempt(self, email: str, code_id: str, *, max_attempts: int) -> int | None:
        code = self.codes.get(email)
        if code is None or code.id != code_id or code.consumed_at is not None or code.attempts >= max_attempts:
            return None
        self.codes[email] = dataclasses.replace(code, attempts=code.attempts + 1)
        return code.attempts + 1

    async def consume_email_code(self, email: str, code_id: str, now: datetime) -> bool:
        code = self.codes.get(email)
        if code is None or code.id != code_id or code.consumed_at is not None:
            return False
        self.codes[email] = dataclasses.replace(code, consumed_at=now)
        return True

    # -- registration tokens --------------------------------------------------------------------
    async def put_registration_token(self, token: RegistrationToken) -> None:
        self.registration_tokens[token.token_hash] = token

    async def get_registration_token(self, token_hash: str) -> RegistrationToken | None:
        return self.registration_tokens.get(token_hash)

    async def consume_registration_token(self, token_hash: str, now: datetime) -> bool:
        token = self.registration_tokens.get(token_hash)
        if token is None or token.consumed_at is not None or now >= token.expires_at:
            return False
        self.registration_tokens[token_hash] = dataclasses.replace(token, consumed_at=now)
        return True

    # -- sessions and refresh tokens ------------------------------------------------------------
    async def start_session(self, session: Session, refresh: RefreshToken) -> None:
        self.sessions[session.id] = session
        self.refresh_tokens[refresh.token_hash] = refresh

    async def get_session(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    async def list_active_sessions(self, user_id: str, now: datetime) -> list[Session]:
        found = [s for s in self.sessions.values() if s.user_id == user_id and s.active_at(now)]
        return sorted(found, key=lambda s: (s.created_at, s.id), reverse=True)

    async def touch_session(self, session_id: str, now: datetime) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.last_active_at < now:
            self.sessions[session_id] = dataclasses.replace(session, last_active_at=now)

    async def revoke_session(self, session_id: str, now: datetime, reason: str) -> bool:
        return self._end_session(session_id, now, reason)

    def _end_session(self, session_id: str, now: datetime, reason: str) -> bool:
        session = self.sessions.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        self.sessions[session_id] = dataclasses.replace(session, revoked_at=now, revoked_reason=reason)
        self._last_revocation_id += 1
        self.revocations.append(Revocation(self._last_revocation_id, session_id, now, session.expires_at))
        for token_hash, token in self.refresh_tokens.items():
            if token.session_id == session_id and token.revoked_at is None:
                self.refresh_tokens[token_hash] = dataclasses.replace(token, revoked_at=now)
        return True

    async def revoke_user_sessions(
        self, user_id: str, now: datetime, reason: str, *, except_session_id: str | None = None
    ) -> list[str]:
        ended = []
        for session in sorted(self.sessions.values(), key=lambda s: s.id):  # id order, as the SQL store
            if session.user_id != user_id or session.id == except_session_id or not session.active_at(now):
                continue
            if await self.revoke_session(session.id, now, reason):
                ended.append(session.id)
        return ended

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        return self.refresh_tokens.get(token_hash)

    async def exchange_refresh_token(
        self,
        parent_hash: str,
        successor_hash: str,
        now: datetime,
        *,
        expires_at: datetime,
        grace: float,
        idle_ttl: int,
    ) -> Exchange:
        parent = self.refresh_tokens.get(parent_hash)
        session = None if parent is None else self.sessions.get(parent.session_id)
        if parent is None or session is None:
            return Exchange(ExchangeOutcome.INVALID)
        if not exchangeable(session, parent, now, idle_ttl):
            return Exchange(ExchangeOutcome.INVALID)
        if parent.rotated_at is None:
            successor = successor_token(session, parent, successor_hash, now, expires_at)
            self.refresh_tokens[parent_hash] = dataclasses.replace(
                parent, rotated_at=now, successor_hash=successor_hash
            )
            self.refresh_tokens[successor_hash] = successor
            if session.last_active_at < now:
                session = self.sessions[session.id] = dataclasses.replace(session, last_active_at=now)
            return Exchange(ExchangeOutcome.ROTATED, session, parent, successor)
        child = None if parent.successor_hash is None else self.refresh_tokens.get(parent.successor_hash)
        if in_grace(parent, now, grace) and is_current(child):
            return Exchange(ExchangeOutcome.GRACE, session, parent, child)
        self._end_session(session.id, now, "refresh_token_reused")
        return Exchange(ExchangeOutcome.REUSED, session, parent)

    # -- the revocation feed ----------------------------------------------------------------------
    async def list_revocations(self, after: int, limit: int) -> list[Revocation]:
        return [entry for entry in self.revocations if entry.id > after][:limit]

    async def latest_revocation_id(self) -> int:
        return self.revocations[-1].id if self.revocations else 0

    # -- operations -----------------------------------------------------------------------------
    async def ping(self) -> None:
        return None

    async def purge_expired(self, before: datetime) -> int:
        gone = 0
        for email, code in list(self.codes.items()):
            if code.expires_at < before:
                del self.codes[email]
                gone += 1
        for token_hash, token in list(self.registration_tokens.items()):
            if token.expires_at < before:
                del self.registration_tokens[token_hash]
                gone += 1
        kept = [entry for entry in self.revocations if entry.session_expires_at >= before]
        gone += len(self.revocations) - len(kept)
        self.revocations = kept
        for session_id, session in list(self.sessions.items()):
            ended = session.revoked_at if session.revoked_at is not None else session.expires_at
            if ended < before:
                del self.sessions[session_id]
                gone += 1
                for token_hash in [h for h, t in self.refresh_tokens.items() if t.session_id == session_id]:
                    del self.refresh_tokens[token_hash]
                    gone += 1
        return gone


class MemoryRateLimiter:
    """Fixed-window counters (``authspec.services.ports.RateLimiter``) in a dict."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[datetime, int]] = {}
        self._spans: dict[str, tuple[datetime, int]] = {}  # count/extend windows: (end, count); extend moves the end

    async def ping(self) -> None:
        """Always reachable: the counters are in memory."""

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int:
        started, count = self._windows.get(key, (now, 0))
        end = started + timedelta(seconds=window)
        if now >= end or now < started:  # the window is over (or the clock was moved back)
            started, count, end = now, 0, now + timedelta(seconds=window)
        count += 1
        self._windows[key] = (started, count)
        if count <= limit:
            return 0
        return max(1, int((end - now).total_seconds() + 0.999))

    async def release(self, key: str, *, now: datetime) -> None:
        self._windows.pop(key, None)
        self._spans.pop(key, None)

    async def count(self, key: str, *, window: int, now: datetime) -> int:
        end, count = self._spans.get(key, (now, 0))
        if now >= end:
            end, count = now + timedelta(seconds=window), 0
        self._spans[key] = (end, count + 1)
        return count + 1

    async def extend(self, key: str, *, seconds: int, now: datetime) -> None:
        end, count = self._spans.get(key, (now, 0))
        if now >= end:
            end, count = now, 0
        self._spans[key] = (max(end, now + timedelta(seconds=seconds)), count)

    async def remaining(self, key: str, *, now: datetime) -> int:
        end, _ = self._spans.get(key, (now, 0))
        return max(1, math.ceil((end - now).total_seconds())) if now < end else 0
