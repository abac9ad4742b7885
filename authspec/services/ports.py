"""The ports of the domain services: the records they work on and the interfaces they persist through.

The services in ``authspec.services`` hold every rule (code lifetime and attempts, registration,
rotation with grace and reuse detection, the absolute session lifetime, revocation, logout
scopes); they reach the world only through the Protocols of this module. The real service
implements them with SQLAlchemy (``authspec.storage``) and Redis, the mock in memory
(``mock.world``). Both must give every method the atomicity its docstring states: concurrent
requests meet there, and the rules are only as good as these guarantees.

Conventions:
- Every instant is a timezone-aware UTC ``datetime`` from the service's clock; implementations
  never read the wall clock themselves (the mock moves its clock).
- Ids are UUID4 strings. Emails are stored and matched exactly as given: the services normalise
  them first (``normalize_email``: trimmed, lower case), so every repository follows one rule.
- Secrets are never stored: ``token_hash`` / ``code_hash`` are what the services computed.
- "Atomic" means: a single, linearisable step with respect to every other method of the same
  repository, across processes and instances sharing the store (row locks or single conditional
  statements in SQL; one lock or no ``await`` inside the step in memory).
- Records are immutable snapshots; methods return fresh ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class User:
    id: str
    email: str
    first_name: str
    last_name: str
    created_at: datetime


@dataclass(frozen=True)
class Session:
    """A login: created by verify or register, ended by logout, revocation or reuse detection.

    ``expires_at`` is the absolute lifetime (created_at + refresh TTL); rotation never moves it.
    ``revoked_reason`` is one of ``REVOKE_REASONS``.
    """

    id: str
    user_id: str
    created_at: datetime
    last_active_at: datetime
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    device_name: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    def active_at(self, now: datetime, idle_ttl: int = 0) -> bool:
        """Not revoked, before its absolute expiry and, with an ``idle_ttl`` (seconds, 0: none),
        used less than ``idle_ttl`` before ``now`` (measured from ``last_active_at``)."""
        if self.revoked_at is not None or now >= self.expires_at:
            return False
        return idle_ttl <= 0 or (now - self.last_active_at).total_seconds() < idle_ttl

    def carries(self, user_id: str, now: datetime, idle_ttl: int = 0) -> bool:
        """Whether an access token naming this session and ``user_id`` (its ``sub``) is good at
        ``now``: the session is the user's and active. The bearer check and introspection ask this."""
        return self.user_id == user_id and self.active_at(now, idle_ttl)


#: Why a session ended (stored for audit; never shown to other users).
REVOKE_REASONS = ("logout", "revoked", "refresh_token_revoked", "refresh_token_reused")


@dataclass(frozen=True)
class RefreshToken:
    """One link of a session's refresh-token chain.

    ``rotated_at``/``successor_hash`` are set once, when the token is exchanged; ``revoked_at``
    when its session ends or it is revoked on its own.
    """

    token_hash: str
    session_id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    parent_hash: str | None = None
    rotated_at: datetime | None = None
    successor_hash: str | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class EmailCode:
    """The latest login code of an email (there is at most one per email)."""

    id: str
    email: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    consumed_at: datetime | None = None


@dataclass(frozen=True)
class RegistrationToken:
    """Proof that an unknown email passed a code check; single use, short-lived."""

    token_hash: str
    email: str
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None = None


@dataclass(frozen=True)
class Revocation:
    """An entry of the revocation feed: a session that ended by revocation (logout, revoke-token,
    revokeSession, reuse detection). ``id`` is the feed's cursor; ``session_expires_at`` the session's
    absolute expiry, which no access token of it outlives."""

    id: int
    session_id: str
    ended_at: datetime
    session_expires_at: datetime


class ExchangeOutcome(enum.Enum):
    """What ``Repository.exchange_refresh_token`` found and did."""

    ROTATED = "rotated"  # the parent was current: it is now rotated, the successor stored, the session touched
    GRACE = "grace"  # the parent was rotated inside the grace window and its successor is current: nothing changed
    REUSED = "reused"  # a rotated parent outside the window, or a grandparent: the session is now revoked
    INVALID = "invalid"  # unknown, revoked or expired token, or its session ended: nothing changed


@dataclass(frozen=True)
class Exchange:
    """The outcome of an exchange with the snapshots the service builds its answer from.

    ``session``: after the exchange (ROTATED: touched; REUSED: as it was before its revocation),
    None only for INVALID. ``parent``: the presented token as found (before its rotation).
    ``successor``: ROTATED, the token stored; GRACE, the parent's stored successor.
    """

    outcome: ExchangeOutcome
    session: Session | None = None
    parent: RefreshToken | None = None
    successor: RefreshToken | None = None


def exchangeable(session: Session, parent: RefreshToken, now: datetime, idle_ttl: int) -> bool:
    """Whether ``parent`` may be exchanged at all: not revoked, not expired, its session active
    (else ``exchange_refresh_token`` is INVALID). Every store decides with these four functions."""
    return parent.revoked_at is None and now < parent.expires_at and session.active_at(now, idle_ttl)


def successor_token(
    session: Session, parent: RefreshToken, successor_hash: str, now: datetime, expires_at: datetime
) -> RefreshToken:
    """The token a rotation stores: never outliving its session."""
    return RefreshToken(
        token_hash=successor_hash,
        session_id=session.id,
        user_id=parent.user_id,
        created_at=now,
        expires_at=min(expires_at, session.expires_at),
        parent_hash=parent.token_hash,
    )


def in_grace(parent: RefreshToken, now: datetime, grace: float) -> bool:
    """A rotated ``parent`` presented again within ``grace`` seconds of its rotation."""
    return (
        parent.successor_hash is not None
        and parent.rotated_at is not None
        and (now - parent.rotated_at).total_seconds() <= grace
    )


def is_current(child: RefreshToken | None) -> bool:
    """The successor is still the session's current token (neither rotated nor revoked)."""
    return child is not None and child.rotated_at is None and child.revoked_at is None


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the handler saw it (shown in the session list)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class CodeMessage:
    """A login-code email, composed by ``authspec.mail.compose_code_message``."""

    to: str
    subject: str
    body: str
    code: str
    sent_at: datetime
    headers: dict[str, str] = field(default_factory=dict)


class DuplicateEmail(Exception):
    """``create_user`` found a user with that email already."""


@runtime_checkable
class Repository(Protocol):
    """All persistence of the domain services."""

    # -- users -------------------------------------------------------------------------------
    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_email(self, email: str) -> User | None: ...

    async def create_user(self, user: User) -> None:
        """Insert; raises ``DuplicateEmail`` when the email is taken (atomic: a unique constraint)."""
        ...

    # -- email codes -------------------------------------------------------------------------
    async def replace_email_code(self, code: EmailCode, *, max_attempts: int) -> EmailCode:
        """Make ``code`` the email's only code, superseding any previous one, and return it as stored.

        Atomic. The wrong-attempt counter survives a resend: when the previous code is still live
        at ``code.created_at`` (not expired, not consumed, ``attempts < max_attempts``), the new
        code starts with the previous code's ``attempts``; otherwise with ``code.attempts``.
        """
        ...

    async def get_email_code(self, email: str) -> EmailCode | None: ...

    async def register_code_attempt(self, email: str, code_id: str, *, max_attempts: int) -> int | None:
        """Count one attempt against the email's code ``code_id`` and return the new count.

        Atomic increment: N concurrent calls are N attempts. Returns None (and counts nothing)
        when the email's code is no longer ``code_id`` (superseded), is consumed, or already has
        ``max_attempts`` attempts.
        """
        ...

    async def consume_email_code(self, email: str, code_id: str, now: datetime) -> bool:
        """Mark code ``code_id`` used; True for exactly one caller (compare-and-set on ``consumed_at``)."""
        ...

    # -- registration tokens ------------------------------------------------------------------
    async def put_registration_token(self, token: RegistrationToken) -> None: ...

    async def get_registration_token(self, token_hash: str) -> RegistrationToken | None: ...

    async def consume_registration_token(self, token_hash: str, now: datetime) -> bool:
        """Mark it used; True for exactly one caller, and only while ``now < expires_at``."""
        ...

    # -- sessions and refresh tokens ------------------------------------------------------------
    async def start_session(self, session: Session, refresh: RefreshToken) -> None:
        """Insert a session with its first refresh token, both or neither."""
        ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def list_active_sessions(self, user_id: str, now: datetime) -> list[Session]:
        """The user's sessions with ``revoked_at`` unset and ``expires_at > now``, newest first."""
        ...

    async def touch_session(self, session_id: str, now: datetime) -> None:
        """Set ``last_active_at = now`` when it is earlier (never moves it back)."""
        ...

    async def revoke_session(self, session_id: str, now: datetime, reason: str) -> bool:
        """End one session and revoke all its refresh tokens.

        Atomic compare-and-set: True only for the call that ended it (``revoked_at`` was unset);
        serialised with ``exchange_refresh_token`` of the same session, so no rotation succeeds
        after this returns. The call that ends it adds its revocation-feed entry in the same
        atomic step (``list_revocations`` shows it exactly when the session reads as revoked).
        """
        ...

    async def revoke_user_sessions(
        self, user_id: str, now: datetime, reason: str, *, except_session_id: str | None = None
    ) -> list[str]:
        """End every active session of the user except ``except_session_id``; return the ids ended
        by this call (same guarantees as ``revoke_session`` for each, feed entries included)."""
        ...

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None: ...

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
        """Exchange the refresh token ``parent_hash`` in one atomic step, serialised per session with
        ``revoke_session`` and every other exchange of the session (one transaction holding the
        session's lock). With ``session`` the parent's session:

        - parent unknown, or revoked, or ``now >= parent.expires_at``, or ``session`` not active at
          ``now`` (``Session.active_at(now, idle_ttl)``) → INVALID, nothing changed;
        - parent not rotated → set its ``rotated_at = now`` and ``successor_hash``, insert the successor
          (``successor_hash``, the parent's session and user, ``created_at = now``, ``expires_at`` =
          the earlier of ``expires_at`` and ``session.expires_at``, ``parent_hash``) and set the
          session's ``last_active_at = now`` → ROTATED. Of N concurrent calls for one parent at most one
          gets ROTATED;
        - parent rotated at most ``grace`` seconds before ``now`` and its successor neither rotated nor
          revoked → GRACE, nothing changed (the caller compares the successor with its own);
        - otherwise (rotated longer ago, or its successor was exchanged too: a grandparent) → end the
          session as ``revoke_session(session.id, now, "refresh_token_reused")`` does → REUSED.
        """
        ...

    # -- the revocation feed -----------------------------------------------------------------------
    async def list_revocations(self, after: int, limit: int) -> list[Revocation]:
        """Up to ``limit`` feed entries with ``id > after``, in id order.

        Ids only grow (a purged id is never given again) and become visible in id order, across
        processes and instances sharing the store: once an entry with id N has been read, no entry
        with a lower id appears later. So a reader paging by the last id it saw misses nothing that
        was not purged.
        """
        ...

    async def latest_revocation_id(self) -> int:
        """The highest id of the feed's entries, 0 when it has none (one cheap read: the long-poll's
        shared check for entries made by other instances)."""
        ...

    # -- operations -----------------------------------------------------------------------------
    async def ping(self) -> None:
        """Raise when the store is unreachable (readiness)."""
        ...

    async def purge_expired(self, before: datetime) -> int:
        """Delete codes, registration tokens and ended sessions (with their refresh tokens) that
        expired or ended before ``before``, and feed entries whose session expired before it;
        return how many rows went. Housekeeping only: the
        service purges through ``authspec.storage.purge`` (batched, one instance at a time), which
        the SQL repository's method runs too; it need not be atomic."""
        ...


@runtime_checkable
class RateLimiter(Protocol):
    """Shared counters for cooldowns and per-IP limits (database or Redis; memory in the mock)."""

    async def hit(self, key: str, *, limit: int, window: int, now: datetime) -> int:
        """Count one event for ``key`` and return 0 when it is within ``limit`` events per window,
        else the seconds (>= 1) until the window reopens.

        Atomic: N concurrent hits count N. The window is fixed and starts at the first event after
        the previous window ended, so ``limit=1`` is a cooldown of ``window`` seconds.
        """
        ...

    async def release(self, key: str, *, now: datetime) -> None:
        """Forget ``key``'s current window, as if none of its events had happened, so the next hit
        is allowed: a cooldown whose action failed (a code email that could not be sent) is not
        spent. Atomic with ``hit``; a no-op for an unknown key."""
        ...

    async def count(self, key: str, *, window: int, now: datetime) -> int:
        """Count one event for ``key`` (the same fixed windows as ``hit``) and return how many
        events its current window holds now. Atomic like ``hit``."""
        ...

    async def extend(self, key: str, *, seconds: int, now: datetime) -> None:
        """Make ``key``'s current window last at least ``seconds`` from ``now``, keeping its count
        (an unknown or ended key gets a window of that length with no events): a lockout, or a
        counter kept alive through one. Atomic; never shortens a window."""
        ...

    async def remaining(self, key: str, *, now: datetime) -> int:
        """Seconds (rounded up) until ``key``'s current window ends; 0 when it has none."""
        ...

    async def ping(self) -> None:
        """Raise when the counters' store is unreachable (readiness)."""
        ...


@runtime_checkable
class Mailer(Protocol):
    """Delivers login-code emails (console, SMTP, or an in-memory outbox)."""

    async def send(self, message: CodeMessage) -> None:
        """Deliver or raise; must not block the event loop."""
        ...


class Events(Protocol):
    """What the services count for operators (``authspec.metrics`` turns it into Prometheus
    counters). Every argument is one of a few fixed words, never a user id, email, IP or token;
    a method must not raise and must not block."""

    def login(self, outcome: str) -> None:
        """A code verify or a registration ended: ``success``, ``registration_required``,
        ``registered``, ``wrong_code``, ``invalid_code`` or ``too_many_attempts``."""
        ...

    def refresh(self, outcome: str) -> None:
        """A refresh ended: ``rotated``, ``grace_replay``, ``reused_revoked`` or ``invalid``."""
        ...

    def revoked(self, scope: str) -> None:
        """A revocation succeeded: ``all``, ``current``, ``others`` (logout), ``session``, ``refresh_token``."""
        ...

    def code_sent(self) -> None: ...

    def code_send_failed(self) -> None: ...

    def rate_limited(self, limit: str) -> None:
        """A request was refused by the limit named ``limit`` (``code-ip``, ``code-email``, ``verify-ip``)."""
        ...


class NoEvents:
    """The ``Events`` that counts nothing (the default, and the mock's)."""

    def login(self, outcome: str) -> None:
        pass

    def refresh(self, outcome: str) -> None:
        pass

    def revoked(self, scope: str) -> None:
        pass

    def code_sent(self) -> None:
        pass

    def code_send_failed(self) -> None:
        pass

    def rate_limited(self, limit: str) -> None:
        pass
