"""``authspec mock --fixtures FILE`` on a free loopback port, serving the team's users (start-up time: make bench)."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow


def test_mock_cli_serves_fixtures_from_a_file(tmp_path: Path) -> None:
    fixtures = tmp_path / "team.json"
    fixtures.write_text('{"users": [{"email": "lin@example.com", "firstName": "Lin", "lastName": "Chen"}]}')
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"))  # the bundle cache of mock.bundles
    command = partial(authspec_cli, "mock")
    with ServerProcess(
        lambda port: [*command(port), "--fixtures", str(fixtures)],
        env=env, log=tmp_path / "mock.log", probe="/__mock/clock", cwd=tmp_path, lifetime=120, ready_within=30,
    ) as mock:  # fmt: skip
        with httpx.Client(base_url=mock.url, timeout=5) as http:
            assert http.post("/__mock/reset").json()["data"]["users"] == 1
            assert http.post("/api/v1/auth/email/request-code", json={"email": "lin@example.com"}).status_code == 200
            code = http.get("/__mock/outbox").json()["data"][-1]["code"]
            verified = http.post("/api/v1/auth/email/verify", json={"email": "lin@example.com", "code": code})
            assert verified.json()["data"]["user"]["firstName"] == "Lin"
            assert http.get("/.well-known/jwks.json").json()["keys"][0]["alg"] == "EdDSA"


def test_mock_cli_refuses_a_missing_fixtures_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authspec.cli", "mock", "--fixtures", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "no fixtures file" in done.stderr
