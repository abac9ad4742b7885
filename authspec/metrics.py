"""Prometheus metrics of the real service: what ``GET /metrics`` serves (``AUTHSPEC_METRICS``).

``Metrics`` owns one app's collectors, built by ``create_app`` (nothing at import time): the
request counter and latency histogram (filled by ``RequestMetricsMiddleware``, labelled by the
operationId Connexion routed to, ``unmatched`` for any other path), the domain counters (it is
the ``Events`` port of ``authspec.services.ports``, so the services count without knowing
Prometheus), storage errors (``storage_error``, from the storage's own failure paths), and the
signing key's age, computed at each scrape from the keyring's schedule. Every label value is one
of a few fixed words or an operationId and a status: never a user id, email, IP or token.
When ``PROMETHEUS_MULTIPROC_DIR`` is set (``authspec serve --workers N`` sets it for its workers),
prometheus-client keeps the counts in files there and a scrape adds up every worker's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.keys import Keyring

#: The environment variable prometheus-client's multiprocess mode reads (a directory).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The content type of the exposition: exactly the media type the contract declares (Connexion's
#: response check compares it whole; the 0.0.4 text format is UTF-8 by definition).
CONTENT_TYPE = "text/plain; version=0.0.4"
#: The operation label of a request no operation of the contract served.
UNMATCHED = "unmatched"
#: Where Connexion's routing notes the operation (``scope["extensions"]``, shared by its copies).
_ROUTING = "connexion_routing"


class _KeyAge(Collector):
    """``authspec_signing_key_age_seconds``: now minus the signing key's activation (else its
    creation); absent for a key whose file records neither."""

    def __init__(self, keyring: Callable[[], Keyring], now: Callable[[], datetime]) -> None:
        self.keyring = keyring
        self.now = now

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "authspec_signing_key_age_seconds", "Seconds since the key that signs access tokens now became active"
        )
        now = self.now()
        key = self.keyring().signing_key(now)
        since = key.activates_at or key.created_at
        if since is not None:
            family.add_metric([], max(0.0, (now - since).total_seconds()))
        yield family


class Metrics:
    """One app's collectors; also the services' ``Events`` (``authspec.services.ports``)."""

    def __init__(self, *, keyring: Callable[[], Keyring], now: Callable[[], datetime]) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        #: Collected in this process alone, also in multiprocess mode (a gauge of this moment).
        self.local = CollectorRegistry()
        self.local.register(_KeyAge(keyring, now))
        r = self.registry
        self.requests = Counter(
            "authspec_requests", "Requests by operationId and status", ["operation", "status"], registry=r
        )
        self.duration = Histogram(
            "authspec_request_duration_seconds", "Time to answer, by operationId", ["operation"], registry=r
        )
        self.logins = Counter("authspec_logins", "Code verifies and registrations by outcome", ["outcome"], registry=r)
        self.refreshes = Counter("authspec_refreshes", "Refreshes by outcome", ["outcome"], registry=r)
        self.revocations = Counter("authspec_revocations", "Logouts and revocations by scope", ["scope"], registry=r)
        self.codes_sent = Counter("authspec_codes_sent", "Login codes handed to the mailer", registry=r)
        self.code_send_failures = Counter(
            "authspec_code_send_failures", "Login codes that could not be sent", registry=r
        )
        self.rate_limited_ = Counter("authspec_rate_limited", "Requests refused by a rate limit", ["limit"], registry=r)
        self.storage_errors = Counter(
            "authspec_storage_errors", "Requests that met an unavailable store", ["backend"], registry=r
        )

    # -- Events (authspec.services.ports) -------------------------------------------------------------
    def login(self, outcome: str) -> None:
        self.logins.labels(outcome).inc()

    def refresh(self, outcome: str) -> None:
        self.refreshes.labels(outcome).inc()

    def revoked(self, scope: str) -> None:
        self.revocations.labels(scope).inc()

    def code_sent(self) -> None:
        self.codes_sent.inc()

    def code_send_failed(self) -> None:
        self.code_send_failures.inc()

    def rate_limited(self, limit: str) -> None:
        self.rate_limited_.labels(limit).inc()

    def storage_error(self, backend: str) -> None:
        """The database (``database``) or Redis (``redis``) could not be reached."""
        self.storage_errors.labels(backend).inc()

    # -- requests and exposition ----------------------------------------------------------------------
    def observe_request(self, operation: str, status: int, seconds: float) -> None:
        self.requests.labels(operation, str(status)).inc()
        self.duration.labels(operation).observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition of every worker's counts (one process's without multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry) + generate_latest(self.local)
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(merged) + generate_latest(self.local)


class RequestMetricsMiddleware:
    """Count every HTTP request by the operation it was routed to and the status it got, and time it.

    Outermost of Connexion's stack (before its exception layer), so error envelopes count too.
    Connexion's router notes the operation in ``scope["extensions"]`` of a shallow copy of the
    scope; this middleware puts that ``extensions`` dict in place first, so it sees the note."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extensions: dict[str, Any] = scope.setdefault("extensions", {})
        status = 500
        started = time.perf_counter()

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            operation = (extensions.get(_ROUTING) or {}).get("operation_id") or UNMATCHED
            self.metrics.observe_request(str(operation), status, time.perf_counter() - started)
