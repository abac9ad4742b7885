"""Helpers shared by the test suites: envelope assertions against the contract, free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from authspec.spec import inline_document, load_bundle
from contract_tests.checks import assert_envelope


@cache
def bundle() -> dict[str, Any]:
    """The bundle with its named schemas inlined, so a schema taken from it validates on its own."""
    return inline_document(load_bundle())


def error_envelope_schema() -> dict[str, Any]:
    """ErrorEnvelope as the bundle resolves it (taken from listSessions' 401)."""
    op = bundle()["paths"]["/auth/sessions"]["get"]
    schema: dict[str, Any] = op["responses"]["401"]["content"]["application/json"]["schema"]
    return schema


def validate(schema: dict[str, Any], value: Any) -> None:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    errors = [e.message for e in OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(value)]
    assert not errors, errors


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the error envelope of ``status`` with ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert_envelope(body, status)
    assert body["errorCode"] == code, body
    validate(error_envelope_schema(), body)
    return body


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``AUTHSPEC_`` setting but the run's response
    validation (``tests/conftest.py``: on), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSPEC_")}
    if "AUTHSPEC_VALIDATE_RESPONSES" in os.environ:
        env["AUTHSPEC_VALIDATE_RESPONSES"] = os.environ["AUTHSPEC_VALIDATE_RESPONSES"]
    env.update(extra)
    return env


def authspec_cli(kind: str, port: int, *extra: str) -> list[str]:
    """The command line of ``authspec serve`` / ``authspec mock`` on ``port``, quietly logging."""
    return [sys.executable, "-m", "authspec.cli", kind, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", *extra]  # fmt: skip


def uvicorn_factory(factory: str, port: int) -> list[str]:
    """The command line of ``uvicorn --factory FACTORY`` on ``port`` (lifespan on, no access log)."""
    return [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port),
            "--lifespan", "on", "--no-access-log", "--log-level", "warning"]  # fmt: skip


class ServerProcess:
    """A server in a child process on a free loopback port, ready once ``probe`` answers 200.

    ``command(port)`` builds its command line; ``lifetime`` (seconds) wraps it in coreutils'
    ``timeout`` so it ends even if the test process dies — leave it unset for a test that must
    SIGKILL the server itself. Output goes to ``log``; readiness waits ``ready_within`` seconds at
    most. Use it as a context manager, or call ``stop``.
    """

    def __init__(
        self,
        command: Callable[[int], list[str]],
        *,
        env: dict[str, str],
        log: Path,
        probe: str = "/api/v1/openapi.json",
        cwd: Path | None = None,
        lifetime: float | None = None,
        ready_within: float = 45,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = self.url + "/api/v1"
        self.log = log
        argv = command(self.port)
        wrapper = shutil.which("timeout") if lifetime else None
        if wrapper:
            argv = [wrapper, "-k", "5", str(int(lifetime or 0)), *argv]
        self.started = time.perf_counter()
        with log.open("ab") as out:
            self.process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=out)
        self.ready_after = self._wait_ready(probe, ready_within)

    def _wait_ready(self, probe: str, ready_within: float) -> float:
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(self.url + probe, timeout=2).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"the server did not become ready:\n{self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed by the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL after 15 seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


#: The database the PostgreSQL-backed tests use (``.ci/run`` sets it); without it they are skipped.
POSTGRES_URL = os.environ.get("AUTHSPEC_TEST_POSTGRES_URL")

#: Parameters of a fixture or test that runs on SQLite always and on PostgreSQL when it is given.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL to use"),
        ],
    ),
]
