"""The built @authspec/client in headless Chromium, on another origin than the mock.

A static server on ``localhost:P1`` serves ``tab.html`` and the package's ``dist``; the mock runs
on ``127.0.0.1:P2`` with its defaults. Two tabs of one context share the pair in localStorage:
one logs in from the outbox; the mock's clock then expires the access token and both tabs call
at once: every call succeeds, the mock logs exactly one refresh and no reuse, and a logout in
one tab signs the other out (the storage event).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.run import run_page

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent / "browser"


@pytest.fixture(scope="module")
def tabs(built_client: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tabs")
    site = folder / "site"
    shutil.copytree(built_client, site / "client")
    shutil.copy(HERE / "tab.html", site / "tab.html")
    return run_page(HERE / "two_tabs.mjs", site, "tab.html", folder, "{mock}", AUTHSPEC_MAIL_BACKEND="memory")


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
