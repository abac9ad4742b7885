"""Standard tools pointed at a running app's served document, with nothing else configured.

Schemathesis' CLI reads ``/api/v1/openapi.json`` from a started mock and a started service, with no
``--url``: the servers the app serves (itself first, site-root items relative) must lead it to every
operation of the contract.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from authspec.spec import iter_operations, load_bundle
from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).with_name("st"))


@pytest.mark.parametrize("kind", ["mock", "serve"])
def test_schemathesis_reaches_every_operation_from_the_served_document(kind: str, tmp_path: Path) -> None:
    operations = sum(1 for _ in iter_operations(load_bundle()))
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    with ServerProcess(
        lambda port: authspec_cli(kind, port), env=env, log=tmp_path / f"{kind}.log", cwd=tmp_path, lifetime=180
    ) as app:
        done = subprocess.run(
            [ST, "run", f"{app.url}/api/v1/openapi.json", "--phases", "examples,fuzzing", "--max-examples", "2",
             "--checks", "not_a_server_error", "--request-timeout", "10", "--no-color"],
            capture_output=True, text=True, timeout=150, cwd=tmp_path, env=env, check=False,
        )  # fmt: skip
    report = done.stdout + done.stderr
    assert "Failed to resolve" not in report
    assert f"Selected: {operations}/{operations}" in report, report[-3000:]
    assert f"Tested: {operations}" in report, report[-3000:]
    assert done.returncode == 0, report[-3000:]
