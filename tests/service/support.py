"""Helpers of the service tests: a client that speaks the contract, live servers, parallel requests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import uvicorn
from starlette.testclient import TestClient

from authspec.clock import MovableClock
from authspec.mail.memory import MemoryMailer
from authspec.services import Services
from contract_tests.checks import assert_envelope
from tests.helpers import free_port

API = "/api/v1"
START = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)


def data(response: httpx.Response, status: int = 200) -> Any:
    """The ``data`` of a success envelope, after checking the envelope."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert_envelope(body, status)
    return body["data"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Login:
    email: str
    access: str
    refresh: str
    user: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access)


class Api:
    """One running app (TestClient with its lifespan) and the seams the test controls."""

    def __init__(self, app: Any, client: TestClient, mailer: MemoryMailer, clock: MovableClock) -> None:
        self.app = app
        self.client = client
        self.mailer = mailer
        self.clock = clock
        self._last_code_request: dict[str, datetime] = {}

    @property
    def services(self) -> Services:
        services: Services = self.app.authspec.extras["services"]
        return services

    @property
    def settings(self) -> Any:
        return self.app.authspec.settings

    def post(self, path: str, json: Any = None, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
        return self.client.post(API + path, json=json, headers=headers, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
        return self.client.get(API + path, headers=headers, **kwargs)

    def rows(self, table: Any) -> list[dict[str, Any]]:
        """Every row of ``table``, read through a connection of the test's own (not the app's pool)."""
        from sqlalchemy import select

        from authspec.storage.engine import Database

        async def fetch() -> list[dict[str, Any]]:
            db = Database(self.settings.database_url, schema=self.settings.database_schema)
            try:
                async with db.read() as conn:
                    return [dict(row._mapping) for row in await conn.execute(select(table))]
            finally:
                await db.dispose()

        return asyncio.run(fetch())

    def request_code(self, email: str, **kwargs: Any) -> str:
        """Ask for a code (waiting out the cooldown on the test clock if needed); returns the code."""
        last = self._last_code_request.get(email)
        cooldown = self.settings.code_resend_after
        if last is not None and (self.clock.now() - last).total_seconds() < cooldown:
            self.clock.advance(cooldown - (self.clock.now() - last).total_seconds())
        data(self.post("/auth/email/request-code", {"email": email}, **kwargs))
        self._last_code_request[email] = self.clock.now()
        return self.mailer.last_code(email.lower())

    def verify(self, email: str, code: str, **extra: Any) -> httpx.Response:
        headers = extra.pop("headers", {})
        return self.post("/auth/email/verify", {"email": email, "code": code, **extra}, headers=headers)

    def registration_token(self, email: str) -> str:
        result = data(self.verify(email, self.request_code(email)))
        assert result["status"] == "registration_required", result
        token: str = result["registrationToken"]
        return token

    def login(self, email: str, *, device: str | None = None, headers: dict[str, str] | None = None) -> Login:
        """Log ``email`` in (registering it first when it is new) and return the session's tokens."""
        extra: dict[str, Any] = {"deviceName": device} if device else {}
        headers = headers or {}
        result = data(self.verify(email, self.request_code(email, headers=headers), headers=headers, **extra))
        if result["status"] == "registration_required":
            body = {"registrationToken": result["registrationToken"], "firstName": "Ada", "lastName": "Lovelace"}
            result = data(self.post("/auth/register", {**body, **extra}, headers=headers), 201)
        tokens = result["tokens"]
        return Login(email=email, access=tokens["accessToken"], refresh=tokens["refreshToken"], user=result["user"])

    def refresh(self, token: str) -> httpx.Response:
        return self.post("/auth/refresh", {"refreshToken": token})

    def sessions(self, login: Login | str) -> list[dict[str, Any]]:
        token = login.access if isinstance(login, Login) else login
        listed: list[dict[str, Any]] = data(self.get("/auth/sessions", token))
        return listed


class LiveServer:
    """An app served by uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@contextmanager
def live(*apps: Any) -> Iterator[list[str]]:
    """Serve each app on its own port; yields their base URLs (``.../api/v1``)."""
    servers = [LiveServer(app) for app in apps]
    started: list[LiveServer] = []
    try:
        for server in servers:
            started.append(server.__enter__())
        yield [server.url + API for server in servers]
    finally:
        for server in started:
            server.__exit__(None, None, None)


def parallel(calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    """Send every ``(method, url, kwargs)`` at once, each on its own connection; answers in order."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls) + 1, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            return list(await asyncio.gather(*(client.request(m, u, **kw) for m, u, kw in calls)))

    return asyncio.run(run())
