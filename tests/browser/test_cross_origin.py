"""A page on another origin runs the whole flow against a started mock with its defaults, in Chromium.

Debian's chromium, driven by playwright-core from the repository's node_modules (``make install``
runs ``npm ci``), opens ``page.html`` from a static server on ``localhost:P1``; the page calls the
mock on ``127.0.0.1:P2`` with ``fetch``: request a code, read it from the outbox, verify, list
sessions (a second login after moving the mock's clock past the resend cooldown), refresh,
revoke the other session, log out, and read a forced 429's ``errorCode``,
``Retry-After`` and ``Preference-Applied``. Every call sends a header of its own (``X-Request-Id``)
and JSON, so each one is preflighted: the browser enforces CORS, not this test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.run import run_page

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("browser")
    return run_page(HERE / "drive.mjs", HERE, "page.html", folder, str(folder / "page.png"))


def test_the_page_runs_on_another_origin_than_the_mock(flow: dict[str, Any]) -> None:
    assert flow["origin"].startswith("http://localhost:")


def test_every_step_of_the_flow_answers_as_the_contract_says(flow: dict[str, Any]) -> None:
    assert [(step["name"], step["status"]) for step in flow["steps"]] == [
        ("reset", 200),
        ("request code", 200),
        ("read outbox", 200),
        ("verify", 200),
        ("advance clock", 200),
        ("request code", 200),
        ("read outbox", 200),
        ("verify", 200),
        ("list sessions", 200),
        ("refresh", 200),
        ("revoke session", 200),
        ("revoked session's token", 401),
        ("logout", 200),
        ("after logout", 401),
        ("forced 429", 429),
    ]


def test_the_page_logs_in_and_sees_both_sessions(flow: dict[str, Any]) -> None:
    assert (flow["statusAfterVerify"], flow["sessionsListed"]) == ("authenticated", 2)


def test_the_page_reads_error_codes_of_ended_sessions(flow: dict[str, Any]) -> None:
    assert (flow["revokedUse"], flow["afterLogout"]) == ("session_ended", "session_ended")


def test_the_page_reads_errorcode_retry_after_and_preference_applied(flow: dict[str, Any]) -> None:
    limited = flow["limited"]
    assert limited["status"] == 429
    assert limited["errorCode"] == "rate_limited"
    assert limited["retryAfter"] is not None and int(limited["retryAfter"]) > 0
    assert limited["preferenceApplied"] == "code=429"


def test_the_browser_reports_no_cors_error(flow: dict[str, Any]) -> None:
    assert [line for line in flow["console"] if "CORS" in line or "Access-Control" in line] == []
