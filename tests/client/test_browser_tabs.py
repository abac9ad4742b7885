"""The built @authspec/client in headless Chromium, on another origin than the mock.

A static server on ``localhost:P1`` serves ``tab.html`` and the package's ``dist``; the mock runs
on ``127.0.0.1:P2`` with its defaults. Two tabs of one context share the pair in localStorage:
one logs in from the outbox; the mock's clock then expires the access token and both tabs call
at once: every call succeeds, the mock logs exactly one refresh and no reuse, and a logout in
one tab signs the other out (the storage event).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.client.conftest import NODE, ROOT
from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def tabs(built_client: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium (.ci/run does)"
    assert NODE is not None and (ROOT / "node_modules" / "playwright-core").is_dir(), "run make install"
    folder = tmp_path_factory.mktemp("tabs")
    site = folder / "site"
    shutil.copytree(built_client, site / "client")
    shutil.copy(HERE / "tab.html", site / "tab.html")
    env = clean_env(XDG_CACHE_HOME=str(folder / "cache"), AUTHSPEC_MAIL_BACKEND="memory")
    static = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site)]
    with ServerProcess(
        lambda port: authspec_cli("mock", port), env=env, log=folder / "mock.log", cwd=folder, lifetime=150
    ) as mock, ServerProcess(
        lambda port: [*static, str(port)], env=env, log=folder / "static.log", probe="/tab.html", lifetime=150
    ) as pages:  # fmt: skip
        done = subprocess.run(
            [NODE, str(HERE / "two_tabs.mjs"), f"http://localhost:{pages.port}/tab.html?mock={mock.url}", mock.url],
            capture_output=True, text=True, timeout=110, cwd=ROOT, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    result: dict[str, Any] = outcome["result"]
    result["console"] = outcome["console"]
    return result


def test_a_page_on_another_origin_logs_in_from_the_outbox_with_web_locks(tabs: dict[str, Any]) -> None:
    assert tabs["origin"].startswith("http://localhost:")
    assert tabs["locks"] is True
    assert tabs["login"] == {"status": "registration_required", "sessions": 1}
    assert tabs["sharedPair"] is True


def test_two_tabs_with_an_expired_token_share_one_refresh(tabs: dict[str, Any]) -> None:
    assert tabs["burst"] == [[1] * 5, [1] * 5], tabs["burst"]
    assert tabs["refreshes"] == [[200, None]]
    assert tabs["reuse"] == 0
    assert tabs["expiredAnswers"] == 10, "every call of both tabs met the expired token first"
    assert tabs["afterBurst"] == {"ok": True, "value": "tabs@example.com"}


def test_a_logout_in_one_tab_signs_the_other_out(tabs: dict[str, Any]) -> None:
    assert tabs["logout"] == {"ok": True, "value": {"revokedSessions": 1}}
    assert tabs["otherTabSignedOut"] is True
    assert tabs["otherTabPair"] is None
    assert tabs["otherTabCall"] == {"ok": False, "status": 401, "errorCode": "authentication_required"}
    assert tabs["events"]["a"] == ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT:logout"]
    assert tabs["events"]["b"][-1] == "SIGNED_OUT:other_tab"


def test_the_browser_reports_no_page_error_and_no_cors_error(tabs: dict[str, Any]) -> None:
    # Chromium logs every 401 as "Failed to load resource"; those answers are the test's own.
    problems = [line for line in tabs["console"] if line.startswith("pageerror") or "CORS" in line]
    assert problems == [], problems
