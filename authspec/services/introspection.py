"""What resource servers ask: token introspection (RFC 7662 in substance) and the revocation feed.

``introspect`` answers ``active: true`` with an access token's claims only when the token verifies
(signature, issuer, audience, type, expiry: ``AccessTokens``, whose signature checks are cached)
and its session is active now — one indexed read of the session, the same rule as every bearer
check (``SessionService.authenticate``): revoked for any reason, past its absolute lifetime or idle
longer than ``session_idle_ttl``. Anything else is ``{"active": false}`` and nothing more.

``revocations`` pages the feed (``Repository.list_revocations``) by an opaque cursor (the last id
seen, as a decimal string). While nothing follows the cursor it waits up to ``wait`` seconds on
``FeedWatch``: an in-process wake-up when this process revokes a session (``notify``), and one
shared poll of the store per process (``latest_revocation_id`` every ``poll_interval`` seconds,
only while somebody waits) for revocations made by other processes and instances — never a query
per waiter per tick. ``FeedWatch.close`` ends every wait at once (the server is shutting down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authspec.clock import Clock
from authspec.credentials import AccessTokens
from authspec.envelope import format_timestamp
from authspec.errors import Unauthorized
from authspec.services.ports import Repository, Revocation
from authspec.settings import Settings

log = logging.getLogger("authspec.introspection")

#: How often the one shared poll per process reads the newest feed id while requests wait.
POLL_INTERVAL = 0.3
#: The contract's bounds on ``wait`` and ``limit``.
MAX_WAIT = 30
#: The largest id a store hands out (a signed 64-bit integer, as SQLite and PostgreSQL keep it).
MAX_CURSOR = 2**63 - 1
MAX_LIMIT = 1000


@dataclass(frozen=True)
class FeedPage:
    revocations: list[dict[str, Any]]
    cursor: str
    has_more: bool

    def as_data(self) -> dict[str, Any]:
        return {"revocations": self.revocations, "cursor": self.cursor, "hasMore": self.has_more}


class FeedWatch:
    """Wakes long-polls when the feed grows: ``notify`` (this process revoked) or the shared poll."""

    def __init__(self, latest: Callable[[], Awaitable[int]], poll_interval: float = POLL_INTERVAL) -> None:
        self._latest_of_store = latest
        self.poll_interval = poll_interval
        self.latest: int | None = None  # the newest id the poll saw
        self._changed = asyncio.Event()  # replaced each time ``latest`` moves: a broadcast
        self._kick = asyncio.Event()
        self._waiters = 0
        self._poller: asyncio.Task[None] | None = None
        self.closed = False
        self.polls = 0  # reads of the store, for the tests' figures

    def notify(self) -> None:
        """This process committed a revocation: poll now instead of at the next tick."""
        self._kick.set()

    def close(self) -> None:
        """End every wait now and refuse new ones (the server is shutting down)."""
        self.closed = True
        self._broadcast()
        self._kick.set()

    def _broadcast(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_beyond(self, after: int, timeout: float, disconnected: Callable[[], Awaitable[bool]]) -> bool:
        """Wait until the feed holds an id above ``after`` (True), or ``timeout`` seconds pass, the
        client goes away (``disconnected``) or the watch closes (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._waiters += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        else:
            self._kick.set()  # a fresh look for this waiter, shared with the others
        try:
            while not self.closed:
                if self.latest is not None and self.latest > after:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0 or await disconnected():
                    return False
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, 1.0))  # 1 s: notice a disconnect
            return False
        finally:
            self._waiters -= 1

    async def _poll(self) -> None:
        while self._waiters > 0 and not self.closed:
            self._kick.clear()
            try:
                latest = await self._latest_of_store()
                self.polls += 1
            except Exception as exc:  # the store is away for a moment: the waits time out, or a later poll sees it
                log.warning(
                    "revocation feed poll failed", extra={"event": "feed.poll_failed", "error": type(exc).__name__}
                )
            else:
                if latest != self.latest:
                    self.latest = latest
                    self._broadcast()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.poll_interval)


async def _connected() -> bool:
    return False


class IntrospectionService:
    def __init__(
        self,
        repo: Repository,
        access: AccessTokens,
        clock: Clock,
        settings: Settings,
        watch: FeedWatch | None = None,
    ) -> None:
        self.repo = repo
        self.access = access
        self.clock = clock
        self.settings = settings
        self.watch = watch or FeedWatch(repo.latest_revocation_id)

    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662's answer for ``token``: its claims while it and its session are active, else
        ``{"active": False}`` alone."""
        try:
            claims = self.access.verify(token)
        except Unauthorized:
            return {"active": False}
        session = await self.repo.get_session(claims.sid)
        now = self.clock.now()
        if session is None or not session.carries(claims.sub, now, self.settings.session_idle_ttl):
            return {"active": False}
        return {
            "active": True,
            "sub": claims.sub,
            "sid": claims.sid,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "iss": self.access.issuer,
            "aud": self.access.audience,
            "tokenType": "access_token",
        }

    def exp_of(self, entry: Revocation) -> int:
        """The latest ``exp`` an access token of the entry's session can carry (epoch seconds)."""
        latest = min(entry.ended_at + timedelta(seconds=self.settings.access_ttl), entry.session_expires_at)
        return int(latest.timestamp())

    def _entry(self, entry: Revocation) -> dict[str, Any]:
        return {"sid": entry.session_id, "endedAt": format_timestamp(entry.ended_at), "exp": self.exp_of(entry)}

    async def revocations(
        self,
        after: str | None,
        *,
        limit: int = 500,
        wait: int = 0,
        disconnected: Callable[[], Awaitable[bool]] = _connected,
    ) -> FeedPage:
        """The feed after the cursor ``after`` (None: from its oldest entry), long-polling up to
        ``wait`` seconds while it is empty. A cursor beyond the newest entry (the store was reset)
        reads as absent."""
        cursor = int(after) if after else 0
        if cursor > MAX_CURSOR:  # no store hands out such an id: beyond the newest entry, so absent
            cursor = 0
        limit = max(1, min(limit, MAX_LIMIT))
        page = await self._page(cursor, limit)
        if page is None:
            cursor = 0
            page = await self._page(0, limit)
        entries = page or []
        if not entries and wait > 0:
            woke = await self.watch.wait_beyond(cursor, min(wait, MAX_WAIT), disconnected)
            if woke:
                entries = await self.repo.list_revocations(cursor, limit + 1)
        has_more = len(entries) > limit
        entries = entries[:limit]
        last = entries[-1].id if entries else cursor
        return FeedPage([self._entry(e) for e in entries], str(last), has_more)

    async def _page(self, cursor: int, limit: int) -> list[Revocation] | None:
        """Up to ``limit + 1`` entries after ``cursor``; None when the cursor is beyond the newest entry."""
        entries = await self.repo.list_revocations(cursor, limit + 1)
        if entries or cursor == 0:
            return entries
        return None if await self.repo.latest_revocation_id() < cursor else entries
