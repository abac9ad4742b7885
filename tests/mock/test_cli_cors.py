"""``authspec mock --no-cors`` and ``AUTHSPEC_MOCK_CORS=false``: a started mock that answers no origin."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow

PAGE = "http://127.0.0.1:5173"


def _allowed_origin(tmp_path: Path, *extra: str, **env: str) -> tuple[str | None, int]:
    with ServerProcess(
        lambda port: authspec_cli("mock", port, *extra),
        env=clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), **env),
        log=tmp_path / "mock.log", probe="/__mock/clock", cwd=tmp_path, lifetime=60,
    ) as mock, httpx.Client(base_url=mock.url, timeout=5) as http:  # fmt: skip
        preflight = http.options("/api/v1/auth/me", headers={"Origin": PAGE, "Access-Control-Request-Method": "GET"})
        answered = http.get("/api/v1/auth/me", headers={"Origin": PAGE})
        assert answered.status_code == 401
        return answered.headers.get("access-control-allow-origin"), preflight.status_code


def test_the_started_mock_answers_a_page_by_default(tmp_path: Path) -> None:
    assert _allowed_origin(tmp_path) == (PAGE, 204)


def test_no_cors_flag_turns_cors_off(tmp_path: Path) -> None:
    # Without CORS an OPTIONS is no operation of the contract: 405 with the envelope.
    assert _allowed_origin(tmp_path, "--no-cors") == (None, 405)


def test_mock_cors_setting_false_turns_cors_off(tmp_path: Path) -> None:
    assert _allowed_origin(tmp_path, AUTHSPEC_MOCK_CORS="false") == (None, 405)
