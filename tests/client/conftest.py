"""Fixtures of the client tests: @authspec/client built once into its ``dist`` folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "typescript"
TSC = ROOT / "node_modules" / ".bin" / "tsc"
NODE = shutil.which("node")


@pytest.fixture(scope="session")
def built_client() -> Path:
    """``tsc -p clients/typescript`` (the package's ESM and declarations in ``dist``)."""
    if not TSC.is_file() or NODE is None:
        pytest.fail("node or node_modules/.bin/tsc is missing: run `make install` (it runs npm ci)")
    done = subprocess.run(
        [str(TSC), "-p", str(PACKAGE / "tsconfig.json"), "--pretty", "false"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return PACKAGE / "dist"
