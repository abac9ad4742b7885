"""``Verifier``: authspec's access tokens checked at JWT speed, with revocation inside a stated bound.

Every request is checked locally (``tokens.check_token``) against the JWKS of ``<base_url>``,
cached for its ``Cache-Control: max-age`` (clamped to 30 s .. 1 h); a token naming an unknown
``kid`` (a key rollover) refetches the JWKS once; such refetches happen at most once every
``JWKS_REFETCH_INTERVAL`` seconds, so tokens of made-up keys cannot turn into a request each.

Revocation: a background task long-polls ``GET /api/v1/auth/revocations`` as a configured resource
server (HTTP Basic) and keeps a deny-list of ended session ids until their tokens' ``exp``. The
feed is *fresh* while its last successful answer is younger than ``max_staleness``; while it is,
a token whose session is not on the deny-list is accepted with no request at all. When it is not
(authspec unreachable, the long-poll cut, the first sync still running), each token is checked
with ``POST /api/v1/auth/introspect`` instead (an answer is reused for ``max_staleness`` at most).
When neither answers, the token is refused (``fail_open=False``, the default: ``Unavailable``)
or accepted (``fail_open=True``); the episode is logged once when it starts and once when it
ends. So a revocation reaches the verifier within ``max_staleness`` plus authspec's own delay
between its instances (about a second). Wrong credentials are a ``ConfigurationError``: ``start``
raises it, and every token is refused while it lasts, whatever ``fail_open`` says. No log line
ever holds a token or the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

import httpx

from .tokens import DEFAULT_LEEWAY, Claims, KeySet, SignatureCache, TokenRejected, UnknownKey, check_times

log = logging.getLogger("authspec.verify")

JWKS_MIN_AGE, JWKS_MAX_AGE, JWKS_DEFAULT_AGE = 30.0, 3600.0, 300.0
#: An unknown ``kid`` refetches the JWKS at most this often (seconds).
JWKS_REFETCH_INTERVAL = 5.0
DEFAULT_MAX_STALENESS = 5.0
SESSION_ENDED = "The session of this token has ended"
_MAX_AGE = re.compile(r"max-age=(\d+)")


class ConfigurationError(Exception):
    """authspec refused the verifier's resource-server credentials, or the settings are wrong."""


class Unavailable(Exception):
    """Neither the revocation feed nor introspection answered within ``max_staleness`` (fail closed)."""


class Verifier:
    """Verify authspec access tokens for one resource server (see the module docstring).

    ``base_url`` is authspec's site root (``https://auth.example.com``); ``issuer`` and ``audience``
    are its ``AUTHSPEC_JWT_ISSUER`` / ``AUTHSPEC_JWT_AUDIENCE``; ``client_id`` / ``client_secret``
    one entry of its ``AUTHSPEC_INTROSPECTION_CLIENTS``. ``max_staleness`` (seconds) bounds how
    long the verifier may rely on a feed that has not answered; the long-poll waits ``feed_wait``
    (default: 60 % of ``max_staleness``, at most 30 s, so a healthy feed answers within the bound).
    ``follow_feed=False`` introspects every token instead (each answer reused for ``max_staleness``).
    ``http`` lets a test pass its own ``httpx.AsyncClient``. Use ``async with verifier:`` or ``start()`` / ``stop()``
    (``VerifyMiddleware`` does it on the app's lifespan); ``verify`` starts it lazily otherwise.
    """

    def __init__(
        self,
        base_url: str,
        *,
        issuer: str,
        audience: str,
        client_id: str,
        client_secret: str,
        max_staleness: float = DEFAULT_MAX_STALENESS,
        fail_open: bool = False,
        leeway: float = DEFAULT_LEEWAY,
        feed_wait: int | None = None,
        timeout: float = 2.0,
        follow_feed: bool = True,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ConfigurationError(
                "Verifier needs the issuer and audience authspec signs (AUTHSPEC_JWT_ISSUER/_AUDIENCE)"
            )
        if not client_id or not client_secret:
            raise ConfigurationError("Verifier needs a resource-server client_id and client_secret")
        wait = feed_wait if feed_wait is not None else min(30, int(max_staleness * 0.6))
        if not 0 <= wait < max_staleness:
            raise ConfigurationError(f"feed_wait ({wait} s) must be below max_staleness ({max_staleness} s)")
        self.base_url = base_url.rstrip("/")
        self.follow_feed = follow_feed
        self.issuer, self.audience, self.leeway = issuer, audience, leeway
        self.max_staleness, self.fail_open, self.feed_wait, self.timeout = max_staleness, fail_open, wait, timeout
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._http, self._own_http = http, http is None
        self._keys: KeySet | None = None
        self._keys_expire = self._keys_refetched = float("-inf")
        self._keys_lock = asyncio.Lock()
        self._keys_refresh: asyncio.Task[None] | None = None
        self._signatures = SignatureCache()
        #: Ended session id -> the latest ``exp`` of its tokens (epoch seconds).
        self.denied: dict[str, int] = {}
        self._cursor: str | None = None
        self._feed_ok_at = float("-inf")  # monotonic time of the last answer that left nothing behind
        self._feed: asyncio.Task[None] | None = None
        self._pruned = time.monotonic()
        self._introspected: dict[str, tuple[float, bool]] = {}  # token -> (monotonic time, active)
        self._introspection_down_until = float("-inf")
        self._outage_since: float | None = None
        self._feed_failing = False
        self.configuration_error: ConfigurationError | None = None
        #: Counters for tests and metrics: introspection requests made, JWKS fetches made.
        self.introspections = 0
        self.jwks_fetches = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Fetch the JWKS and the feed once, then follow the feed in a background task.

        Raises ``ConfigurationError`` when authspec refuses the credentials; an unreachable
        authspec is only logged (requests are then introspected, and refused while it lasts).
        """
        client = self._client()
        with contextlib.suppress(httpx.HTTPError, ValueError):
            await self._fetch_keys(client)
        if not self.follow_feed:
            return
        try:
            await self._poll(client, wait=0)
        except ConfigurationError:
            await self.stop()
            raise
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            log.warning("authspec.verify: the revocation feed at %s is not reachable yet (%s); retrying",
                        self.base_url, type(exc).__name__)  # fmt: skip
        self._spawn_feed()

    async def stop(self) -> None:
        """Stop the feed task and close the HTTP client the verifier made."""
        if self._keys_refresh is not None:
            self._keys_refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keys_refresh
            self._keys_refresh = None
        if self._feed is not None:
            self._feed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed
            self._feed = None
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> Verifier:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def feed_fresh(self) -> bool:
        """Whether the feed answered within ``max_staleness`` (then no token is introspected)."""
        return time.monotonic() - self._feed_ok_at < self.max_staleness

    # -- verification ------------------------------------------------------------------------

    async def verify(self, token: str) -> Claims:
        """The claims of a valid, unrevoked access token.

        Raises ``TokenRejected`` (invalid, expired or revoked) or ``Unavailable`` (fail closed:
        the revocation state is unknown for longer than ``max_staleness``).
        """
        if self._feed is None and self.follow_feed:
            self._spawn_feed()
        claims = await self.verify_locally(token)
        if claims.sid in self.denied:
            raise TokenRejected(SESSION_ENDED, code="session_ended")
        if self.configuration_error is not None:
            raise Unavailable(str(self.configuration_error))
        if self.follow_feed and self.feed_fresh:
            return claims
        active = await self._introspect(token, claims)
        if active is None:
            self._outage("the revocation feed and introspection are unreachable")
            if self.fail_open:
                return claims
            raise Unavailable("authspec is unreachable: the token's revocation state is unknown")
        if not active:
            raise TokenRejected(SESSION_ENDED, code="session_ended")
        return claims

    async def verify_locally(self, token: str) -> Claims:
        """Signature, header and claims against the cached JWKS (refetched on an unknown ``kid``),
        without the revocation check."""
        keys = await self._current_keys()
        try:
            claims = self._signatures.claims(token, keys, issuer=self.issuer, audience=self.audience)
        except UnknownKey:
            keys = await self._refetch_keys(keys)
            claims = self._signatures.claims(token, keys, issuer=self.issuer, audience=self.audience)
        return check_times(claims, now=time.time(), leeway=self.leeway)

    # -- JWKS -------------------------------------------------------------------------------

    async def _current_keys(self) -> KeySet:
        if self._keys is None:
            async with self._keys_lock:
                if self._keys is None and time.monotonic() >= self._keys_expire:
                    await self._try_fetch_keys()
            if self._keys is None:
                raise Unavailable("the JWKS of authspec is unreachable")
        elif time.monotonic() >= self._keys_expire and (self._keys_refresh is None or self._keys_refresh.done()):
            # Past max-age: refreshed in the background; requests go on with the keys they have.
            self._keys_expire = time.monotonic() + JWKS_REFETCH_INTERVAL
            self._keys_refresh = asyncio.get_running_loop().create_task(self._refresh_keys())
        return self._keys

    async def _refresh_keys(self) -> None:
        async with self._keys_lock:
            await self._try_fetch_keys()

    async def _refetch_keys(self, seen: KeySet) -> KeySet:
        """The key set after one bounded refetch (skipped within ``JWKS_REFETCH_INTERVAL``)."""
        async with self._keys_lock:
            if self._keys is seen and time.monotonic() - self._keys_refetched >= JWKS_REFETCH_INTERVAL:
                self._keys_refetched = time.monotonic()
                await self._try_fetch_keys()
        assert self._keys is not None
        return self._keys

    async def _try_fetch_keys(self) -> None:
        try:
            await self._fetch_keys(self._client())
        except (httpx.HTTPError, ValueError) as exc:
            # Keep the keys we had; try again after the rate limit, not on every request.
            self._keys_expire = time.monotonic() + JWKS_REFETCH_INTERVAL
            log.warning("authspec.verify: the JWKS at %s could not be fetched (%s)", self.base_url, type(exc).__name__)

    async def _fetch_keys(self, client: httpx.AsyncClient) -> None:
        self.jwks_fetches += 1
        answer = await client.get(f"{self.base_url}/.well-known/jwks.json", timeout=self.timeout)
        answer.raise_for_status()
        keys = KeySet.from_jwks(answer.json())
        found = _MAX_AGE.search(answer.headers.get("cache-control", ""))
        age = min(JWKS_MAX_AGE, max(JWKS_MIN_AGE, float(found.group(1)))) if found else JWKS_DEFAULT_AGE
        self._keys, self._keys_expire = keys, time.monotonic() + age

    # -- revocation feed ---------------------------------------------------------------------

    def _spawn_feed(self) -> None:
        if self._feed is None or self._feed.done():
            self._feed = asyncio.get_running_loop().create_task(self._follow(), name="authspec-verify-feed")

    async def _follow(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._poll(self._client(), wait=self.feed_wait)
                delay = 0.1
                if self.feed_wait == 0:  # no long-poll: poll a few times per bound, not in a busy loop
                    await asyncio.sleep(self.max_staleness / 4)
            except asyncio.CancelledError:
                raise
            except ConfigurationError:
                await asyncio.sleep(5)
            except Exception as exc:  # a dead connection, a 5xx, a broken answer: retry, bounded
                if not self._feed_failing:
                    self._feed_failing = True
                    log.warning("authspec.verify: the revocation feed failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0, self.max_staleness / 4)

    async def _poll(self, client: httpx.AsyncClient, *, wait: int) -> None:
        """One request to the feed: apply its entries; fresh once nothing is left behind."""
        params: dict[str, str | int] = {"wait": wait, "limit": 1000}
        if self._cursor is not None:
            params["after"] = self._cursor
        answer = await client.get(
            f"{self.base_url}/api/v1/auth/revocations", params=params, auth=self._auth, timeout=wait + self.timeout
        )
        self._check_credentials(answer, "the revocation feed")
        if answer.status_code == 400 and self._cursor is not None:
            self._cursor = None  # a cursor this authspec does not understand: read from the start
            return
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()["data"]
        for entry in data["revocations"]:
            sid, exp = str(entry["sid"]), int(entry["exp"])
            self.denied[sid] = max(exp, self.denied.get(sid, exp))
        self._cursor = str(data["cursor"])
        if not data.get("hasMore"):
            self._feed_ok_at = time.monotonic()
            self._recovered()
            if self._feed_failing:
                self._feed_failing = False
                log.warning("authspec.verify: the revocation feed answers again")
        self._prune()

    def _prune(self) -> None:
        if time.monotonic() - self._pruned < 30:
            return
        self._pruned = time.monotonic()
        horizon = time.time() - self.leeway
        self.denied = {sid: exp for sid, exp in self.denied.items() if exp >= horizon}
        cut = time.monotonic() - self.max_staleness
        self._introspected = {t: seen for t, seen in self._introspected.items() if seen[0] >= cut}

    # -- introspection -----------------------------------------------------------------------

    async def _introspect(self, token: str, claims: Claims) -> bool | None:
        """Whether authspec says the token is active (None: it did not answer)."""
        now = time.monotonic()
        seen = self._introspected.get(token)
        if seen is not None and now - seen[0] < self.max_staleness:
            return seen[1]
        if now < self._introspection_down_until:
            return None
        self.introspections += 1
        try:
            answer = await self._client().post(
                f"{self.base_url}/api/v1/auth/introspect", data={"token": token}, auth=self._auth, timeout=self.timeout
            )
            self._check_credentials(answer, "introspection")
            answer.raise_for_status()
            active = answer.json()["data"]["active"] is True
        except ConfigurationError:
            raise Unavailable(str(self.configuration_error)) from None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            self._introspection_down_until = time.monotonic() + min(1.0, self.max_staleness / 4)
            return None
        if len(self._introspected) >= 10000:
            self._introspected.clear()
        self._introspected[token] = (time.monotonic(), active)
        if not active:
            self.denied[claims.sid] = max(claims.exp, self.denied.get(claims.sid, claims.exp))
        self._recovered()
        return active

    # -- helpers -----------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    def _check_credentials(self, answer: httpx.Response, what: str) -> None:
        if answer.status_code == 401:
            if self.configuration_error is None:
                self.configuration_error = ConfigurationError(
                    f"authspec at {self.base_url} refused this resource server's credentials for {what} (401): "
                    "client_id/client_secret must match an entry of its AUTHSPEC_INTROSPECTION_CLIENTS"
                )
                log.error("authspec.verify: %s; every token is refused until it is fixed", self.configuration_error)
            raise self.configuration_error
        if self.configuration_error is not None and answer.is_success:
            log.warning("authspec.verify: authspec accepts the resource-server credentials again")
            self.configuration_error = None

    def _outage(self, what: str) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            verdict = (
                "accepting locally valid tokens (fail_open)" if self.fail_open else "refusing tokens (fail closed)"
            )
            log.error("authspec.verify: %s for longer than %.1f s: %s", what, self.max_staleness, verdict)

    def _recovered(self) -> None:
        if self._outage_since is not None:
            log.warning("authspec.verify: authspec reachable again after %.1f s", time.monotonic() - self._outage_since)
            self._outage_since = None
