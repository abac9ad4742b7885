"""The domain services: every rule of login, tokens and sessions, free of HTTP and SQL.

``build_services`` wires them from their seams — a ``Repository`` and a ``RateLimiter``
(``authspec.services.ports``), a ``Mailer``, the signing keyring, the service secrets (independent
of the keyring), a clock and the settings — so
the real service (SQLAlchemy, Redis, SMTP) and the mock (in memory) run the same rules.
Handlers make one call into ``Services.auth``, ``.tokens``, ``.sessions`` or ``.introspection``
(the resource servers' introspection and revocation feed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from authspec.clock import Clock
from authspec.credentials import AccessTokens
from authspec.keys import Keyring
from authspec.services.auth import AuthService
from authspec.services.introspection import FeedWatch, IntrospectionService
from authspec.services.ports import Events, Mailer, NoEvents, RateLimiter, Repository
from authspec.services.secrets import ServiceSecrets
from authspec.services.sessions import SessionService
from authspec.services.tokens import TokenService
from authspec.settings import Settings


@dataclass(frozen=True)
class Services:
    auth: AuthService
    tokens: TokenService
    sessions: SessionService
    introspection: IntrospectionService
    clock: Clock
    repo: Repository
    limiter: RateLimiter

    async def ping(self) -> None:
        """Raise when the store or the rate-limit counters cannot be reached (readiness)."""
        await self.repo.ping()
        await self.limiter.ping()


def build_services(
    *,
    repo: Repository,
    limiter: RateLimiter,
    mailer: Mailer,
    keyring: Keyring,
    clock: Clock,
    settings: Settings,
    secrets: ServiceSecrets,
    access_claims: Mapping[str, str] | None = None,
    events: Events | None = None,
) -> Services:
    """The three services over one set of seams (``access_claims``: further claims of every access
    token, e.g. the mock's namespace; ``events``: what they count, default nothing)."""
    events = events or NoEvents()
    access = AccessTokens(
        keyring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=settings.access_ttl,
        clock=clock,
        claims=access_claims,
    )
    watch = FeedWatch(repo.latest_revocation_id)
    tokens = TokenService(repo, access, secrets, clock, settings, events=events, on_revoked=watch.notify)
    return Services(
        auth=AuthService(repo, limiter, mailer, tokens, secrets, clock, settings, events=events),
        tokens=tokens,
        sessions=SessionService(repo, access, clock, settings, events=events, secrets=secrets, on_revoked=watch.notify),
        introspection=IntrospectionService(repo, access, clock, settings, watch),
        clock=clock,
        repo=repo,
        limiter=limiter,
    )


__all__ = ["Services", "build_services"]
