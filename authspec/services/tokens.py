"""Token rules: starting a session with its first token pair, refresh rotation, refresh-token revocation.

Refresh tokens are opaque (256 bits), stored as SHA-256 and rotated on every use. The successor
of a token is derived from it with a server secret (``ServiceSecrets.successor_of``), so every
request that presents the same parent inside the grace window gets the same successor — and,
because the access token of a rotation is built from the rotation's instant and a jti derived
from the successor, the very same pair. A rotated token presented after the window, or a
grandparent presented at any time, revokes the whole session (``refresh_token_reused``). A
session's absolute lifetime is fixed when it starts; refresh and access tokens never outlive it.
A session idle longer than ``session_idle_ttl`` (from ``lastActiveAt``, which every rotation
moves) has ended: its refresh token is refused like that of an expired session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from authspec.clock import Clock
from authspec.credentials import AccessTokens, hash_token, new_opaque_token
from authspec.errors import Conflict, Forbidden, NotFound, Unauthorized
from authspec.services.ports import (
    ClientInfo,
    Events,
    NoEvents,
    RefreshToken,
    Repository,
    RotateOutcome,
    Session,
    User,
)
from authspec.services.results import Principal, RevokedToken, TokenPair
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings

log = logging.getLogger("authspec.credentials")

_JTI_NAMESPACE = uuid.UUID("5b0f3a5e-2d43-4c39-9a51-7d0f8c2e6a10")


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds()))


def _invalid_refresh() -> Unauthorized:
    return Unauthorized("The refresh token is invalid, expired or revoked", code="invalid_refresh_token")


class TokenService:
    """Issues token pairs and rotates, revokes and checks refresh tokens."""

    def __init__(
        self,
        repo: Repository,
        access: AccessTokens,
        secrets: ServiceSecrets,
        clock: Clock,
        settings: Settings,
        events: Events | None = None,
        on_revoked: Callable[[], None] | None = None,
    ) -> None:
        #: Called after a revocation committed (the revocation feed's long-polls wake up).
        self.on_revoked = on_revoked or (lambda: None)
        self.repo = repo
        self.access = access
        self.secrets = secrets
        self.clock = clock
        self.settings = settings
        self.events = events or NoEvents()

    # -- issuing ---------------------------------------------------------------------------------
    def _access_token(
        self, user_id: str, session: Session, *, issued_at: datetime, jti: str, now: datetime
    ) -> tuple[str, int]:
        """A signed access token built only from its inputs (same inputs, same token) and the
        seconds it has left at ``now``."""
        token, _ = self.access.issue(user_id, session.id, not_after=session.expires_at, jti=jti, issued_at=issued_at)
        expires = min(issued_at + timedelta(seconds=self.access.ttl), session.expires_at)
        return token, _seconds(expires - now)

    def _pair(
        self,
        user_id: str,
        session: Session,
        refresh: str,
        refresh_expires: datetime,
        issued_at: datetime,
        now: datetime | None = None,
    ) -> TokenPair:
        """The pair issued at ``issued_at``, its lifetimes measured at ``now`` (the request's instant,
        by default the issue instant: a fresh pair says 3600 and 2592000, never a second less because
        the clock moved on while the request was served)."""
        now = issued_at if now is None else now
        jti = str(uuid.uuid5(_JTI_NAMESPACE, hash_token(refresh)))
        access, expires_in = self._access_token(user_id, session, issued_at=issued_at, jti=jti, now=now)
        return TokenPair(
            access_token=access,
            refresh_token=refresh,
            expires_in=expires_in,
            refresh_expires_in=_seconds(refresh_expires - now),
            session_id=session.id,
        )

    async def start_session(self, user: User, *, device_name: str | None, client: ClientInfo) -> TokenPair:
        """A new session for ``user`` with its first token pair."""
        now = self.clock.now()
        session = Session(
            id=str(uuid.uuid4()),
            user_id=user.id,
            created_at=now,
            last_active_at=now,
            expires_at=now + timedelta(seconds=self.settings.refresh_ttl),
            ip=client.ip,
            user_agent=client.user_agent[:512] if client.user_agent else None,
            device_name=device_name,
        )
        plain = new_opaque_token()
        refresh = RefreshToken(
            token_hash=hash_token(plain),
            session_id=session.id,
            user_id=user.id,
            created_at=now,
            expires_at=session.expires_at,
        )
        await self.repo.start_session(session, refresh)
        log.info("session started", extra={"event": "session.started", "user_id": user.id, "session_id": session.id})
        return self._pair(user.id, session, plain, refresh.expires_at, now)

    # -- refresh -----------------------------------------------------------------------------------
    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate ``refresh_token``; see the module docstring for the grace window and reuse."""
        try:
            pair, outcome = await self._refresh(refresh_token)
        except Unauthorized as exc:
            self.events.refresh("reused_revoked" if exc.code == "refresh_token_reused" else "invalid")
            raise
        self.events.refresh(outcome)
        return pair

    async def _refresh(self, refresh_token: str) -> tuple[TokenPair, str]:
        now = self.clock.now()
        parent_hash = hash_token(refresh_token)
        parent = await self.repo.get_refresh_token(parent_hash)
        if parent is None:
            raise _invalid_refresh()
        session = await self.repo.get_session(parent.session_id)
        idle_ttl = self.settings.session_idle_ttl
        if session is None or not session.active_at(now, idle_ttl) or parent.revoked_at is not None:
            raise _invalid_refresh()
        if now >= parent.expires_at:
            raise _invalid_refresh()

        successor_plain = self.secrets.successor_of(refresh_token)
        successor_hash = hash_token(successor_plain)
        if parent.rotated_at is None:
            successor = RefreshToken(
                token_hash=successor_hash,
                session_id=session.id,
                user_id=parent.user_id,
                created_at=now,
                expires_at=min(now + timedelta(seconds=self.settings.refresh_ttl), session.expires_at),
                parent_hash=parent_hash,
            )
            outcome = await self.repo.rotate_refresh_token(parent_hash, successor, now)
            if outcome is RotateOutcome.ROTATED:
                log.info("refresh token rotated", extra={"event": "refresh.rotated", "session_id": session.id})
                return self._pair(parent.user_id, session, successor_plain, successor.expires_at, now), "rotated"
            if outcome is RotateOutcome.INACTIVE:
                raise _invalid_refresh()
            rotated = await self.repo.get_refresh_token(parent_hash)
            if rotated is None:
                raise _invalid_refresh()
            parent = rotated

        assert parent.rotated_at is not None
        in_grace = (now - parent.rotated_at).total_seconds() <= self.settings.refresh_grace
        if in_grace and parent.successor_hash is not None:
            child = await self.repo.get_refresh_token(parent.successor_hash)
            current = await self.repo.get_session(session.id)
            if (
                child is not None
                and child.rotated_at is None
                and child.revoked_at is None
                and current is not None
                and current.active_at(now, idle_ttl)
            ):
                # The immediate parent inside the window (parallel tabs, a lost response): the same pair.
                if parent.successor_hash == successor_hash:
                    pair = self._pair(
                        parent.user_id, current, successor_plain, child.expires_at, parent.rotated_at, now
                    )
                    return pair, "grace_replay"
                # The service secret changed since the rotation (its file was replaced): the pair
                # cannot be given again, but this is no theft either.
                raise _invalid_refresh()

        ended = await self.repo.revoke_session(session.id, now, "refresh_token_reused")
        if ended:
            self.on_revoked()
        who = {"user_id": session.user_id, "email_hash": await self._email_hash(session.user_id)}
        log.warning(
            "rotated refresh token presented again; session revoked",
            extra={"event": "refresh.reused", "session_id": session.id, "ended": ended, **who},
        )
        raise Unauthorized(
            "This refresh token was already used; the session has been revoked", code="refresh_token_reused"
        )

    async def _email_hash(self, user_id: str) -> str | None:
        """What a security event says of the user's email: its keyed hash (one read; revocations are rare)."""
        user = await self.repo.get_user(user_id)
        return None if user is None else self.secrets.email_hash(user.email)

    # -- revocation ----------------------------------------------------------------------------------
    async def revoke(self, principal: Principal, refresh_token: str) -> RevokedToken:
        """Revoke one of the caller's refresh tokens, ending its session."""
        now = self.clock.now()
        token = await self.repo.get_refresh_token(hash_token(refresh_token))
        if token is None:
            raise NotFound("No such refresh token", code="refresh_token_not_found")
        if token.user_id != principal.user_id:
            raise Forbidden("The refresh token belongs to another user")
        session = await self.repo.get_session(token.session_id)
        already = Conflict("The refresh token is already revoked", code="refresh_token_already_revoked")
        if token.revoked_at is not None or token.rotated_at is not None:
            raise already
        if session is None or not session.active_at(now, self.settings.session_idle_ttl) or now >= token.expires_at:
            raise already
        if not await self.repo.revoke_session(session.id, now, "refresh_token_revoked"):
            raise already
        self.on_revoked()
        who = {"user_id": principal.user_id, "email_hash": await self._email_hash(principal.user_id)}
        log.info("refresh token revoked", extra={"event": "session.revoked", "session_id": session.id, **who})
        self.events.revoked("refresh_token")
        return RevokedToken(session_id=session.id, revoked_at=now)

    def jwks(self) -> dict[str, Any]:
        return self.access.jwks()
