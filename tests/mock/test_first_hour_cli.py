"""``authspec mock`` as a process: it prints each code it sends, starts without deprecation noise,
and a bad fixtures file ends it with one line naming the setting (no traceback)."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow

DEPRECATION = "StarletteDeprecationWarning"


def test_mock_prints_each_code_it_sends_and_no_deprecation_warning(tmp_path: Path) -> None:
    log = tmp_path / "mock.log"
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    with ServerProcess(
        partial(authspec_cli, "mock"), env=env, log=log, probe="/__mock/clock", cwd=tmp_path, lifetime=120
    ) as mock:
        with httpx.Client(base_url=mock.url, timeout=10, headers={"X-Mock-Namespace": "team-a"}) as http:
            assert http.post("/api/v1/auth/email/request-code", json={"email": "ada@example.com"}).status_code == 200
            code = http.get("/__mock/outbox").json()["data"][-1]["code"]
            login = http.post("/api/v1/auth/email/verify", json={"email": "ada@example.com", "code": code})
            tokens = login.json()["data"]["tokens"]
    text = log.read_text(errors="replace")
    block = re.search(r"Mock namespace: team-a\nTo: ada@example.com\nSubject: Your login code\n", text)
    assert block is not None, text
    assert re.search(rf"^{code}$", text, re.MULTILINE), text
    assert tokens["accessToken"] not in text and tokens["refreshToken"] not in text
    assert DEPRECATION not in text and "httpx2" not in text, text


def test_serve_starts_without_a_deprecation_warning(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = clean_env(AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    with ServerProcess(partial(authspec_cli, "serve"), env=env, log=log, cwd=tmp_path, lifetime=120):
        pass
    text = log.read_text(errors="replace")
    assert DEPRECATION not in text and "httpx2" not in text, text


def _mock_with_fixtures(tmp_path: Path, fixtures: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(AUTHSPEC_MOCK_FIXTURES=str(fixtures), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "authspec.cli", "mock", "--port", "9"],  # never bound: it stops first
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("users: [\n  {email: ada@example.com\n", "while parsing a flow mapping"),
        (
            "users:\n  - {email: not-an-email, firstName: Ada, lastName: L}\n",
            "users[0]: email: 'not-an-email' is not a 'email'",
        ),
        ("people: []\n", "expected a mapping with a `users` list"),
        (None, "no fixtures file at"),
    ],
    ids=["invalid-yaml", "schema-violation", "no-users-list", "missing-file"],
)
def test_a_bad_fixtures_file_stops_the_mock_with_one_line(tmp_path: Path, content: str | None, problem: str) -> None:
    fixtures = tmp_path / "team.yaml"
    if content is not None:
        fixtures.write_text(content)
    done = _mock_with_fixtures(tmp_path, fixtures)
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(
        f"authspec mock: AUTHSPEC_MOCK_FIXTURES: {fixtures}"
        if content
        else "authspec mock: AUTHSPEC_MOCK_FIXTURES: no fixtures file at"
    ), lines
    assert problem in lines[0], lines
    assert "Traceback" not in done.stderr and done.stdout == ""
