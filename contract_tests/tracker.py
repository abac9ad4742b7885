"""What the suite knows about the target's sessions: every token pair it has seen, and which
sessions have ended.

Tokens are learned from the answers of verify, register and refresh (the access token's ``sub``
and ``sid`` claims are read without verifying it: the target verifies, the suite only needs to
know which session a token belongs to). Ends are learned from successful logout, revoke-token and
revokeSession calls and from ``refresh_token_reused``. The ``session_end_enforced`` check then holds
the target to it: an ended session's access tokens get 401 at once, and a token of an ended
session is never accepted again.
"""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TokenInfo:
    sub: str
    sid: str


def claims(token: str) -> TokenInfo | None:
    """The ``sub`` and ``sid`` of an access token, or None when it is not a JWT carrying them."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("sub"), str)
        or not isinstance(payload.get("sid"), str)
    ):
        return None
    return TokenInfo(payload["sub"], payload["sid"])


@dataclass
class Ended:
    """The outcome of one session-ending call: tokens that must now be refused, and one that must still work."""

    dead: list[str] = field(default_factory=list)
    alive: str | None = None
    why: str = ""


@dataclass
class Tracker:
    access: dict[str, TokenInfo] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> sid
    dead_access: dict[str, str] = field(default_factory=dict)  # token -> why its session ended
    dead_refresh: dict[str, str] = field(default_factory=dict)
    ended_sids: dict[str, str] = field(default_factory=dict)
    #: Called with every access token whose session ended (the auth provider drops its cached login).
    on_end: list[Callable[[str], None]] = field(default_factory=list)

    def learn_pair(self, access: Any, refresh: Any) -> None:
        if not isinstance(access, str):
            return
        info = claims(access)
        if info is None:
            return
        self.access[access] = info
        if isinstance(refresh, str):
            self.refresh[refresh] = info.sid
        if info.sid in self.ended_sids:
            # A token minted for a session the suite saw end: it must be as dead as the session.
            self.dead_access[access] = self.ended_sids[info.sid]

    def learn(self, operation_id: str | None, status: int, body: Any) -> None:
        """Remember the token pair of a successful verify, register or refresh."""
        if status >= 300 or not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            return
        data = body["data"]
        if operation_id in ("verifyEmailCode", "completeRegistration") and isinstance(data.get("tokens"), dict):
            self.learn_pair(data["tokens"].get("accessToken"), data["tokens"].get("refreshToken"))
        elif operation_id == "refreshToken":
            self.learn_pair(data.get("accessToken"), data.get("refreshToken"))

    def end_sessions(self, sids: set[str], why: str) -> list[str]:
        """Mark the sessions ended; returns their known access tokens, newest first."""
        tokens = [t for t, info in self.access.items() if info.sid in sids]
        for sid in sids:
            self.ended_sids.setdefault(sid, why)
        for token in tokens:
            self.dead_access.setdefault(token, why)
        for refresh, sid in self.refresh.items():
            if sid in sids:
                self.dead_refresh.setdefault(refresh, why)
        for token in tokens:
            for callback in self.on_end:
                callback(token)
        return list(reversed(tokens))

    def forget_end(self, ended: Ended) -> None:
        """Undo the marks of an end the target did not enforce (it is reported once, not on every later call)."""
        sids = {self.access[t].sid for t in ended.dead if t in self.access}
        for token in ended.dead:
            self.dead_access.pop(token, None)
        for sid in sids:
            self.ended_sids.pop(sid, None)
        for refresh, sid in self.refresh.items():
            if sid in sids:
                self.dead_refresh.pop(refresh, None)

    def sessions_of(self, sub: str) -> set[str]:
        return {info.sid for info in self.access.values() if info.sub == sub}

    def observe_end(self, operation_id: str | None, status: int, caller: str | None, body: Any, sent: Any) -> Ended:
        """If this answer ended sessions, mark them and say which tokens must be refused now."""
        data = body.get("data") if isinstance(body, dict) else None
        if operation_id == "refreshToken" and status == 401 and isinstance(body, dict):
            if body.get("errorCode") == "refresh_token_reused" and isinstance(sent, dict):
                sid = self.refresh.get(str(sent.get("refreshToken")))
                if sid is not None:
                    return Ended(self.end_sessions({sid}, "refresh_token_reused"), why="refresh token reuse")
            return Ended()
        if status != 200 or not isinstance(data, dict):
            return Ended()
        if operation_id == "revokeRefreshToken" and isinstance(data.get("sessionId"), str):
            why = "revokeRefreshToken"
            return Ended(self.end_sessions({data["sessionId"]}, why), why=why)
        if operation_id == "revokeSession" and isinstance(data.get("id"), str):
            return Ended(self.end_sessions({data["id"]}, "revokeSession"), why="revokeSession")
        if operation_id == "logout" and caller is not None:
            info = claims(caller)
            if info is None:
                return Ended()
            self.access.setdefault(caller, info)
            scope = sent.get("scope", "all") if isinstance(sent, dict) else "all"
            why = f"logout (scope {scope})"
            if scope == "current":
                return Ended(self.end_sessions({info.sid}, why), why=why)
            if scope == "others":
                return Ended(self.end_sessions(self.sessions_of(info.sub) - {info.sid}, why), alive=caller, why=why)
            return Ended(self.end_sessions(self.sessions_of(info.sub) | {info.sid}, why), why=why)
        return Ended()
