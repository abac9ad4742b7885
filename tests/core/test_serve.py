"""``authspec serve`` on a free loopback port answers the contract and Swagger UI, then stops."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "AUTHSPEC_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "AUTHSPEC_MAIL_BACKEND": "memory",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "authspec.cli", "serve", "--port", str(port), "--log-level", "warning"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"authspec serve did not come up: {log.read_text()}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_answers_the_contract_and_swagger_ui(served: str) -> None:
    spec = httpx.get(f"{served}/api/v1/openapi.json", timeout=5)
    assert spec.status_code == 200
    document = spec.json()
    operations = [
        op["operationId"] for item in document["paths"].values() for m, op in item.items() if m in {"get", "post"}
    ]
    assert len(operations) == 12  # DESIGN.md's ten, liveness and readiness
    assert [s["description"].split(" ")[0] for s in document["servers"]] == ["Production", "Development"]

    docs = httpx.get(f"{served}/api/v1/docs/", timeout=5)
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text.lower()
    assert "/api/v1/openapi.json" in docs.text

    missing = httpx.get(f"{served}/api/v1/nowhere", timeout=5)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "not_found"
