"""The targets the suite holds to the contract, and how each is reached and logged in to.

- ``real``: ``handlers.app:create_app`` in this process, on a temporary SQLite database, with the
  in-memory mailer (codes are read from it).
- ``postgres``: the real app in this process on PostgreSQL (``AUTHSPEC_TEST_POSTGRES_URL``, a schema
  of its own, dropped afterwards); skipped without that URL.
- ``mock``: ``mock.app:create_app`` in this process (codes from ``/__mock/outbox``).
- ``live``: ``AUTHSPEC_CONTRACT_URL``. A mock is recognised by its control API and gets a namespace
  of its own; a real service needs ``AUTHSPEC_CONTRACT_SMTP_SINK=HOST:PORT`` (an SMTP sink the suite
  runs, the service configured to send there) or ``AUTHSPEC_CONTRACT_TOKEN`` (and ``..._REFRESH_TOKEN``).

In-process targets get per-IP limits high enough that the suite's own logins never meet them (every
in-process call comes from one address); every other rule stays as shipped, so Schemathesis meets the
resend cooldown's 429 too. The stateful run gets apps of its own without the resend cooldown
(``NO_COOLDOWN``). The differential scenarios run both apps with the shipped limits.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .auth import (
    CONTRACT_CLIENT,
    DEV_CLIENT,
    Identity,
    ProviderHandle,
    SessionAuth,
    contract_client_setting,
    resource_client_from_env,
    static_identity_from_env,
)
from .http import Http
from .mailbox import Mailbox, MemoryMailbox, OutboxMailbox, SmtpSink
from .tracker import Tracker

API = "/api/v1"


def response_validation() -> dict[str, Any]:
    """The setting that makes a contract or test app validate every response it gives, explicitly
    (the mock and a prod service do not by default): on, unless ``AUTHSPEC_VALIDATE_RESPONSES`` is
    set, which then decides (to run a suite on the other setting)."""
    return {} if os.environ.get("AUTHSPEC_VALIDATE_RESPONSES") else {"validate_responses": True}


#: Limits of the in-process targets: every in-process call comes from one client address.
GENEROUS_LIMITS: dict[str, Any] = {"code_ip_limit": 1_000_000, "verify_ip_limit": 1_000_000}
#: The stateful run's apps also have no resend cooldown, so a chain can log an existing account in
#: again at once (what a scenario does must not depend on how long ago another one ran).
NO_COOLDOWN: dict[str, Any] = {**GENEROUS_LIMITS, "code_resend_after": 0}


#: Every target built in this process, by the origin its schema's servers point at.
REGISTRY: dict[str, Target] = {}
_serial = itertools.count(1)


def in_process_origin(name: str) -> str:
    """A distinct origin per in-process app (Schemathesis' ASGI client sends it as ``Host``; the
    ``.invalid`` TLD can never resolve, so nothing leaves the process)."""
    return f"http://{name}-{next(_serial)}.contract.invalid"


def target_of(case: Any) -> Target | None:
    """The target a Schemathesis case is sent to (by its operation's base URL)."""
    from urllib.parse import urlsplit

    parts = urlsplit(case.operation.base_url or "")
    return REGISTRY.get(f"{parts.scheme}://{parts.netloc}")


class TargetUnusable(RuntimeError):
    """The target cannot be tested as configured; the message says what to set."""


@dataclass
class Target:
    name: str
    http: Http
    mailbox: Mailbox | None
    #: The ASGI app for in-process targets; None for a URL.
    app: Any | None
    #: Scheme and host the schema's servers point at (a made-up ``.invalid`` one in-process).
    origin: str
    is_mock: bool
    headers: dict[str, str] = field(default_factory=dict)
    tracker: Tracker = field(default_factory=Tracker)
    static: Identity | None = None
    #: Whether an account can be sent a new code right after its last one (no resend cooldown).
    relogin: bool = False
    #: The resource server's HTTP Basic credentials (introspection and the revocation feed).
    resource_client: tuple[str, str] = CONTRACT_CLIENT
    closers: list[Callable[[], None]] = field(default_factory=list)
    auth: ProviderHandle = field(init=False)

    def __post_init__(self) -> None:
        self.auth = ProviderHandle(
            SessionAuth(self.http, self.mailbox, self.tracker, self.static), self.resource_client
        )
        REGISTRY[self.origin] = self

    @property
    def can_login(self) -> bool:
        return self.mailbox is not None

    def close(self) -> None:
        REGISTRY.pop(self.origin, None)
        for close in reversed(self.closers):
            close()
        self.http.session.close()


def real_target(workdir: Path | None = None, *, name: str = "real", **overrides: Any) -> Target:
    from authspec.handlers.app import create_app

    from authspec.mail.memory import MemoryMailer
    from authspec.settings import Settings

    if workdir is None:
        holder = tempfile.TemporaryDirectory(prefix="authspec-contract-")
        workdir = Path(holder.name)
        closers: list[Callable[[], None]] = [holder.cleanup]
    else:
        closers = []
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{workdir / 'contract.db'}",
        "database_schema": None,
        "redis_url": None,
        "jwt_private_key_file": workdir / "keys.pem",
        "mail_backend": "memory",
        "migrate_on_start": True,
        "introspection_clients": contract_client_setting(),
        **GENEROUS_LIMITS,
        **response_validation(),
    }
    settings = Settings(**{**values, **overrides})
    mailer = MemoryMailer()
    app = create_app(settings, mailer=mailer)
    origin = in_process_origin(name)
    http = Http.in_process(app, origin)
    relogin = settings.code_resend_after == 0
    return Target(name, http, MemoryMailbox(mailer), app, origin, is_mock=False, relogin=relogin, closers=closers)


def postgres_target(url: str, *, name: str = "postgres", **overrides: Any) -> Target:
    """The real app on PostgreSQL, in a schema of its own that is dropped when the target closes."""
    schema = f"authspec_contract_{uuid.uuid4().hex[:12]}"
    target = real_target(name=name, database_url=url, database_schema=schema, **overrides)

    def drop_schema() -> None:
        import asyncio

        import asyncpg

        async def drop() -> None:
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        from schemathesis.python import asgi

        asgi.shutdown_lifespans()  # the app's pool lets go of the schema first
        asyncio.run(drop())

    target.closers.insert(0, drop_schema)
    return target


def mock_target(app: Any | None = None, *, name: str = "mock", **overrides: Any) -> Target:
    from authspec.mock.app import create_app

    from authspec.settings import Settings
    from authspec.spec import load_bundle

    if app is None:
        app = create_app(Settings(**{**GENEROUS_LIMITS, **response_validation(), **overrides}), spec=load_bundle())
    origin = in_process_origin(name)
    http = Http.in_process(app, origin)
    relogin = app.authspec.settings.code_resend_after == 0
    return Target(
        name, http, OutboxMailbox(http), app, origin, is_mock=True, relogin=relogin, resource_client=DEV_CLIENT
    )


def split_url(url: str) -> str:
    """The origin of a target URL given with or without the ``/api/v1`` base path."""
    url = url.rstrip("/")
    return url[: -len(API)] if url.endswith(API) else url


def parse_hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise TargetUnusable(f"an SMTP sink is HOST:PORT, not {value!r}")
    return host, int(port)


def live_target(url: str, *, smtp_sink: str | None = None, static: Identity | None = None) -> Target:
    origin = split_url(url)
    probe = Http.remote(origin)
    try:
        served = probe.get(f"{API}/openapi.json")
    except requests.RequestException as exc:
        raise TargetUnusable(f"{origin}{API}/openapi.json is not reachable: {exc}") from None
    if served.status_code != 200:
        raise TargetUnusable(f"{origin}{API}/openapi.json answered {served.status_code}")
    is_mock = probe.get("/__mock/openapi.json").status_code == 200
    if is_mock:
        # A world of the run's own on a shared mock: other users of it are not disturbed.
        headers = {"X-Mock-Namespace": f"contract-{uuid.uuid4().hex[:12]}"}
        http = Http.remote(origin, headers)
        client = resource_client_from_env() or DEV_CLIENT
        return Target(
            "live", http, OutboxMailbox(http), None, origin, is_mock=True, headers=headers, resource_client=client
        )
    http = Http.remote(origin)
    client = resource_client_from_env() or CONTRACT_CLIENT
    if smtp_sink:
        sink = SmtpSink(*parse_hostport(smtp_sink)).start()
        return Target("live", http, sink, None, origin, is_mock=False, closers=[sink.stop], resource_client=client)
    if static is not None:
        return Target("live", http, None, None, origin, is_mock=False, static=static, resource_client=client)
    raise TargetUnusable(
        f"{origin} is a real service: the suite cannot read its login codes. Give an SMTP sink the service "
        "sends to (AUTHSPEC_CONTRACT_SMTP_SINK=HOST:PORT, `authspec contract --smtp-sink`), or tokens "
        "(AUTHSPEC_CONTRACT_TOKEN and AUTHSPEC_CONTRACT_REFRESH_TOKEN)."
    )


def live_target_from_env() -> Target | None:
    url = os.environ.get("AUTHSPEC_CONTRACT_URL")
    if not url:
        return None
    return live_target(url, smtp_sink=os.environ.get("AUTHSPEC_CONTRACT_SMTP_SINK"), static=static_identity_from_env())


def selected_targets() -> list[str]:
    """The targets this run tests: ``AUTHSPEC_CONTRACT_TARGETS`` (default real, postgres, mock and live)."""
    chosen = os.environ.get("AUTHSPEC_CONTRACT_TARGETS", "real,postgres,mock,live")
    return [name.strip() for name in chosen.split(",") if name.strip()]
