"""Swagger UI's "Try it out" on a started mock, opened as ``localhost`` on a port of its own.

The served document lists the mock itself first, at the origin that asked, so Swagger UI preselects
it and "Execute" calls the mock, never a Production entry or a hard-coded ``127.0.0.1:4010``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE = shutil.which("node")


@pytest.fixture(scope="module")
def tried(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int]:
    assert Path("/usr/bin/chromium").exists(), "Debian's chromium is missing: apt-get install chromium"
    assert NODE is not None and (ROOT / "node_modules" / "playwright-core").is_dir(), "run make install"
    folder = tmp_path_factory.mktemp("swagger")
    env = clean_env(XDG_CACHE_HOME=str(folder / "cache"))
    with ServerProcess(
        lambda port: authspec_cli("mock", port), env=env, log=folder / "mock.log", cwd=folder, lifetime=150
    ) as mock:
        docs = f"http://localhost:{mock.port}/api/v1/docs/"
        done = subprocess.run(
            [NODE, str(HERE / "swagger.mjs"), docs, "auth", "requestEmailCode", str(folder / "swagger.png")],
            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), mock.port


def test_swagger_ui_preselects_the_mock_at_the_origin_it_was_opened_from(tried: tuple[dict[str, Any], int]) -> None:
    outcome, port = tried
    assert outcome["selected"] == f"http://localhost:{port}/api/v1"


def test_try_it_out_calls_the_mock_and_shows_its_answer(tried: tuple[dict[str, Any], int]) -> None:
    outcome, port = tried
    assert outcome["status"] == "200"
    assert outcome["calls"] == [f"http://localhost:{port}/api/v1/auth/email/request-code"]
