"""Session rules: the bearer check of every authenticated request, the session list, revocation, logout.

An access token is only as good as its session: ``authenticate`` verifies the JWT and then asks
the store whether the session is still active, so logout, revocation and reuse detection take
effect on the very next request, on every instance sharing the store. ``lastActiveAt`` is written
at most once per ``session_touch_interval`` to keep reads cheap (and by every refresh), so it lags
the last use by less than that interval. A session unused for ``session_idle_ttl`` seconds has
ended (idle timeout, measured from ``lastActiveAt``): it ends at most ``session_idle_ttl`` after its
last use and at the earliest ``session_touch_interval`` sooner; the list no longer shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from authspec.clock import Clock
from authspec.credentials import AccessTokens
from authspec.errors import Conflict, NotFound, Unauthorized
from authspec.services.ports import Events, NoEvents, Repository
from authspec.services.results import LoggedOut, LogoutScope, Principal, RevokedSession, SessionList
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings

log = logging.getLogger("authspec.sessions")


class SessionService:
    def __init__(
        self,
        repo: Repository,
        access: AccessTokens,
        clock: Clock,
        settings: Settings,
        events: Events | None = None,
        secrets: ServiceSecrets | None = None,
        on_revoked: Callable[[], None] | None = None,
    ) -> None:
        self.events = events or NoEvents()
        #: Called after a revocation committed (the revocation feed's long-polls wake up).
        self.on_revoked = on_revoked or (lambda: None)
        self.secrets = secrets  # only to hash the email a security event names
        self.repo = repo
        self.access = access
        self.clock = clock
        self.settings = settings

    async def authenticate(self, access_token: str) -> dict[str, Any]:
        """``token_info`` of a valid access token whose session is active; ``Unauthorized`` otherwise."""
        claims = self.access.verify(access_token)
        now = self.clock.now()
        session = await self.repo.get_session(claims.sid)
        idle_ttl = self.settings.session_idle_ttl
        if session is None or not session.carries(claims.sub, now, idle_ttl):
            raise Unauthorized("The session of this token has ended", code="session_ended")
        if (now - session.last_active_at).total_seconds() >= self.settings.session_touch_interval:
            await self.repo.touch_session(session.id, now)
        return claims.as_token_info()

    async def list(self, principal: Principal) -> SessionList:
        """The caller's active sessions, newest first; the caller's own is ``current``."""
        now = self.clock.now()
        sessions = await self.repo.list_active_sessions(principal.user_id, now)
        idle_ttl = self.settings.session_idle_ttl
        return SessionList(
            sessions=[s for s in sessions if s.active_at(now, idle_ttl)], current_id=principal.session_id
        )

    async def revoke(self, principal: Principal, session_id: str) -> RevokedSession:
        """End one of the caller's sessions (the current one included)."""
        now = self.clock.now()
        session = await self.repo.get_session(session_id.lower())
        if session is None or session.user_id != principal.user_id:
            raise NotFound("No such session", code="session_not_found")
        if not session.active_at(now, self.settings.session_idle_ttl) or not await self.repo.revoke_session(
            session.id, now, "revoked"
        ):
            raise Conflict("The session has already ended", code="session_already_revoked")
        self.on_revoked()
        user = await self.repo.get_user(principal.user_id)
        email_hash = None if user is None or self.secrets is None else self.secrets.email_hash(user.email)
        who = {"user_id": principal.user_id, "email_hash": email_hash}
        log.info("session revoked", extra={"event": "session.revoked", "session_id": session.id, **who})
        self.events.revoked("session")
        return RevokedSession(id=session.id, revoked_at=now)

    async def logout(self, principal: Principal, scope: LogoutScope = "all") -> LoggedOut:
        """End the caller's sessions: all of them, only the current one, or all the others."""
        now = self.clock.now()
        if scope == "current":
            ended = 1 if await self.repo.revoke_session(principal.session_id, now, "logout") else 0
        else:
            keep = principal.session_id if scope == "others" else None
            ended = len(await self.repo.revoke_user_sessions(principal.user_id, now, "logout", except_session_id=keep))
        if ended:
            self.on_revoked()
        log.info(
            "logged out",
            extra={"event": "session.logout", "user_id": principal.user_id, "scope": scope, "ended": ended},
        )
        self.events.revoked(scope)
        return LoggedOut(revoked_sessions=ended)
