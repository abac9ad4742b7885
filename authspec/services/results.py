"""What the domain services return, and how each result reads in the contract's JSON.

Services return these small frozen records; ``as_data()`` gives the ``data`` member of the
envelope with the contract's field names, so the real handlers and the mock render results the
same way. ``Principal`` is the authenticated caller as the bearer check established it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from authspec.envelope import format_timestamp
from authspec.services.ports import Session, User

LogoutScope = Literal["all", "current", "others"]


@dataclass(frozen=True)
class Principal:
    """The caller of an authenticated operation: the user and the session of its access token."""

    user_id: str
    session_id: str

    @classmethod
    def from_token_info(cls, user: str, token_info: dict[str, Any]) -> Principal:
        return cls(user_id=user, session_id=str(token_info["sid"]))


def user_data(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "createdAt": format_timestamp(user.created_at),
    }


def session_data(session: Session, *, current: bool) -> dict[str, Any]:
    return {
        "id": session.id,
        "createdAt": format_timestamp(session.created_at),
        "lastActiveAt": format_timestamp(session.last_active_at),
        "expiresAt": format_timestamp(session.expires_at),
        "ip": session.ip,
        "userAgent": session.user_agent,
        "deviceName": session.device_name,
        "current": current,
    }


@dataclass(frozen=True)
class CodeSent:
    expires_in: int
    resend_after: int

    def as_data(self) -> dict[str, Any]:
        return {"expiresIn": self.expires_in, "resendAfter": self.resend_after}


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: str

    def as_data(self) -> dict[str, Any]:
        return {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "expiresIn": self.expires_in,
            "refreshExpiresIn": self.refresh_expires_in,
            "tokenType": "Bearer",
        }


@dataclass(frozen=True)
class Authenticated:
    tokens: TokenPair
    user: User

    def as_data(self) -> dict[str, Any]:
        return {"status": "authenticated", "tokens": self.tokens.as_data(), "user": user_data(self.user)}


@dataclass(frozen=True)
class RegistrationRequired:
    registration_token: str
    expires_in: int

    def as_data(self) -> dict[str, Any]:
        return {
            "status": "registration_required",
            "registrationToken": self.registration_token,
            "expiresIn": self.expires_in,
        }


@dataclass(frozen=True)
class Registered:
    tokens: TokenPair
    user: User

    def as_data(self) -> dict[str, Any]:
        return {"tokens": self.tokens.as_data(), "user": user_data(self.user)}


@dataclass(frozen=True)
class SessionList:
    sessions: list[Session]
    current_id: str

    def as_data(self) -> list[dict[str, Any]]:
        return [session_data(s, current=s.id == self.current_id) for s in self.sessions]


@dataclass(frozen=True)
class RevokedSession:
    id: str
    revoked_at: datetime

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "revokedAt": format_timestamp(self.revoked_at)}


@dataclass(frozen=True)
class RevokedToken:
    session_id: str
    revoked_at: datetime

    def as_data(self) -> dict[str, Any]:
        return {"sessionId": self.session_id, "revokedAt": format_timestamp(self.revoked_at)}


@dataclass(frozen=True)
class LoggedOut:
    revoked_sessions: int

    def as_data(self) -> dict[str, Any]:
        return {"revokedSessions": self.revoked_sessions}
