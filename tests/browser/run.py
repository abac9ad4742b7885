"""Run a Node driver against a page served from another origin than a started mock.

The mock (its defaults: CORS open) runs on ``127.0.0.1``, the page on ``localhost`` from a static
server over ``site``; the driver gets the page's URL (``?mock=``) and ``extra`` arguments and must
print one JSON line ``{"ok": ..., "result": ..., "console": [...]}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import ServerProcess, authspec_cli, clean_env

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def run_page(driver: Path, site: Path, page: str, folder: Path, *extra: str, **env: str) -> dict[str, Any]:
    """The driver's ``result``, with the browser console's lines as ``result["console"]``."""
    node = shutil.which("node")
    assert CHROMIUM.exists(), "Debian's chromium is missing: apt-get install chromium (.ci/run does)"
    assert node is not None, "node is missing"
    assert (ROOT / "node_modules" / "playwright-core").is_dir(), "playwright-core is missing: run make install"
    environment = clean_env(XDG_CACHE_HOME=str(folder / "cache"), **env)
    static = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site)]
    with ServerProcess(
        lambda port: authspec_cli("mock", port), env=environment, log=folder / "mock.log", cwd=folder, lifetime=150
    ) as mock, ServerProcess(
        lambda port: [*static, str(port)], env=environment, log=folder / "static.log", probe=f"/{page}", lifetime=150
    ) as pages:  # fmt: skip
        page_url = f"http://localhost:{pages.port}/{page}?mock={mock.url}"
        arguments = [a.replace("{mock}", mock.url) for a in extra]
        done = subprocess.run(
            [node, str(driver), page_url, *arguments],
            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["ok"], outcome
    result: dict[str, Any] = outcome["result"]
    result["console"] = outcome["console"]
    return result
