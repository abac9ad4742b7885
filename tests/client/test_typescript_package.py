"""@authspec/client as a package: its committed types are what the contract generates, and the
package with its examples type-checks under ``tsc --strict``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from authspec.cli import main

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "typescript"
BIN = ROOT / "node_modules" / ".bin"
COMMITTED = PACKAGE / "src" / "generated" / "api.ts"


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make install` (it runs npm ci)")
    return path


def _run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def test_committed_types_equal_a_fresh_generation_from_the_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "openapi.json"
    assert main(["bundle", "--out", str(bundle)]) == 0
    fresh = tmp_path / "api.ts"
    done = _run(_tool("openapi-typescript"), bundle, "-o", fresh)
    assert done.returncode == 0, done.stdout + done.stderr
    assert COMMITTED.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "clients/typescript/src/generated/api.ts is stale: run `make typescript` and commit it"
    )


def test_the_package_and_its_examples_type_check_strictly() -> None:
    done = _run(_tool("tsc"), "-p", PACKAGE / "tsconfig.check.json", "--pretty", "false")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_package_exports_the_named_types() -> None:
    types = (PACKAGE / "src" / "types.ts").read_text(encoding="utf-8")
    for name in ("User", "Session", "TokenPair", "ErrorCode", "RequestCodeBody", "VerifyCodeBody", "RegisterBody",
                 "RefreshBody", "RevokeTokenBody", "LogoutBody"):  # fmt: skip
        assert f'export type {name} = Schemas["{name}"];' in types, name


def test_the_package_declares_no_runtime_dependency() -> None:
    import json

    manifest = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))
    assert manifest["name"] == "@authspec/client"
    assert manifest["type"] == "module"
    assert "dependencies" not in manifest
