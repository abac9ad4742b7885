"""The real service's app factory (``uvicorn --factory authspec.handlers.app:create_app``).

``create_app`` assembles the service from its seams — storage (``authspec.storage``), the mail
backend, the signing keyring, the service secret, the clock — and hands the contract app the
lifespan (migrations, connection check, key-file reload every ``AUTHSPEC_KEY_RELOAD_INTERVAL``,
the purge of expired rows soon after start and then hourly, clean shutdown) and the bearer
verifier (JWT + active session on every request), the resource servers' HTTP Basic check
(``AUTHSPEC_INTROSPECTION_CLIENTS``, ``authspec.resource_clients``), and its metrics (``authspec.metrics``, unless
``AUTHSPEC_METRICS=false``). Liveness, readiness and metrics (``/healthz``,
``/readyz``, ``/metrics``) are operations of the contract like any other (``handlers/health.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition

from authspec.app import create_app as create_contract_app
from authspec.app import service_cors
from authspec.clock import Clock, SystemClock
from authspec.errors import Unauthorized
from authspec.exitsignal import on_exit_signal
from authspec.keys import Keyring
from authspec.mail import build_mailer
from authspec.metrics import Metrics, RequestMetricsMiddleware
from authspec.resolver import HANDLERS
from authspec.resource_clients import ResourceClients
from authspec.services import Services, build_services
from authspec.services.ports import Mailer
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings
from authspec.storage import Storage
from authspec.storage.keyfile import key_path, load_keyring, persist_keyring
from authspec.storage.purge import RETENTION_SECONDS, purge
from authspec.storage.secretfile import load_secret, persist_secret

from .logs import configure_logging, use_email_key

log = logging.getLogger("authspec.service")


async def _watch_keys(services: Services, settings: Settings) -> None:
    """Re-read the key file when it changed, every ``key_reload_interval`` seconds (so `authspec keys
    rotate` needs no restart); a pending key starts to sign at its time without this."""
    path = key_path(settings)
    seen = path.stat().st_mtime_ns if path.exists() else 0
    while True:
        await asyncio.sleep(settings.key_reload_interval)
        try:
            mtime = path.stat().st_mtime_ns
            if mtime != seen:
                seen = mtime
                reload_keys(services, load_keyring(settings))
        except Exception as exc:  # a half-written, removed or unsafe file: keep the current ring
            log.warning("the key file could not be reloaded", extra={"event": "keys.reload_failed", "error": str(exc)})


async def _housekeeping(storage: Storage, clock: Clock, settings: Settings) -> None:
    """Delete what can never be used again (``authspec.storage.purge``): first within
    ``purge_delay`` seconds of start, then every ``purge_interval``, each wait jittered so that
    instances started together spread out (on PostgreSQL only one of them purges at a time)."""
    wait = settings.purge_delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
    while True:
        await asyncio.sleep(wait)
        wait = settings.purge_interval * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not a secret
        try:
            before = clock.now() - timedelta(seconds=RETENTION_SECONDS)
            report = await purge(
                storage.db, before, batch_size=settings.purge_batch_size, access_ttl=settings.access_ttl
            )
        except Exception as exc:  # the database may be away for a while; try again next time
            log.warning("purge failed", extra={"event": "storage.purge_failed", "error": type(exc).__name__})
            continue
        if report.skipped:
            log.info("purge skipped: another instance is purging", extra={"event": "storage.purge_skipped"})
        else:
            extra = {"event": "storage.purged", "rows": report.rows, "batches": report.batches}
            log.info("expired rows purged", extra=extra)


def reload_keys(services: Services, keyring: Keyring) -> None:
    """Verify with every key of ``keyring`` from now on, and sign with the newest active one; the
    service secrets do not depend on the keys, so nothing else changes."""
    services.tokens.access.keyring = keyring  # one AccessTokens, shared with services.sessions
    now = services.clock.now()
    log.info(
        "signing keys reloaded",
        extra={
            "event": "keys.reloaded",
            "kids": [k.kid for k in keyring.keys],
            "signing": keyring.signing_key(now).kid,
            "next_activation": str(keyring.next_activation(now) or "-"),
        },
    )


def use_secrets(services: Services, secrets: ServiceSecrets) -> None:
    """Hash codes, derive successors and hash logged emails with ``secrets`` from now on (another
    worker's, at start)."""
    services.auth.secrets = secrets
    services.tokens.secrets = secrets
    services.sessions.secrets = secrets
    use_email_key(secrets.log_key)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
) -> AsyncApp:
    """The real service: the contract routed to ``handlers``, backed by ``settings``' storage."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    keyring = load_keyring(settings)
    secret = load_secret(settings)
    secrets = ServiceSecrets.from_secret(secret)
    configure_logging(email_key=secrets.log_key)
    storage = Storage.open(settings)
    mailer = mailer or build_mailer(settings)
    # GET /metrics (AUTHSPEC_METRICS): the services count through it, the middleware times requests.
    metrics = Metrics(keyring=lambda: services.tokens.access.keyring, now=clock.now) if settings.metrics else None
    if metrics is not None:
        storage.report_unavailable(metrics.storage_error)
    services = build_services(
        repo=storage.repository,
        limiter=storage.limiter,
        mailer=mailer,
        keyring=keyring,
        clock=clock,
        settings=settings,
        secrets=secrets,
        events=metrics,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
        await storage.start(migrate=settings.migrate_on_start)
        # Only now, with the checks passed, are a generated dev key and secret written (or another
        # worker's adopted).
        on_disk = persist_keyring(settings, keyring)
        if [k.kid for k in on_disk.keys] != [k.kid for k in services.tokens.access.keyring.keys]:
            reload_keys(services, on_disk)
            app.authspec.extras["keyring"] = on_disk
        secret_on_disk = persist_secret(settings, secret)
        if secret_on_disk != secret:
            use_secrets(services, ServiceSecrets.from_secret(secret_on_disk))
        tasks = [asyncio.create_task(_watch_keys(services, settings))]
        tasks.append(asyncio.create_task(_housekeeping(storage, clock, settings)))
        log.info("service started", extra={"event": "service.started", "database": storage.db.dialect})
        # A stop signal answers held long-polls of the revocation feed at once (authspec.exitsignal).
        restore_signals = on_exit_signal(services.introspection.watch.close)
        try:
            yield {"services": services, "metrics": metrics}
        finally:
            restore_signals()
            services.introspection.watch.close()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await storage.close()
            log.info("service stopped", extra={"event": "service.stopped"})

    async def bearer(token: str, request: Any) -> dict[str, Any]:  # noqa: ARG001 - Connexion passes it by name
        try:
            return await services.sessions.authenticate(token)
        except Unauthorized as exc:  # at info: a client's expired token is routine, a burst is not
            log.info("bearer token refused", extra={"event": "bearer.refused", "error_code": exc.code})
            raise

    clients = ResourceClients(settings.resource_client_hashes())

    async def basic(authorization: str | None, request: Any) -> dict[str, Any]:  # noqa: ARG001
        try:
            client_id = clients.authenticate(authorization)
        except Unauthorized:  # never the header: it holds a secret
            log.info("resource server refused", extra={"event": "client.refused"})
            raise
        return {"sub": client_id, "client_id": client_id}

    app = create_contract_app(
        settings,
        handlers=HANDLERS,
        lifespan=lifespan,
        bearer=bearer,
        basic=basic,
        clock=clock,
        cors=service_cors(settings),
        middlewares=[]
        if metrics is None
        else [(RequestMetricsMiddleware, MiddlewarePosition.BEFORE_EXCEPTION, {"metrics": metrics})],
    )

    app.authspec.extras.update(services=services, storage=storage, mailer=mailer, keyring=keyring, metrics=metrics)
    return app
