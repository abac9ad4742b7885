"""The contract as frontend tooling reads it: Spectral's OpenAPI ruleset finds nothing in the bundle
or the served documents, and openapi-typescript's types of the served document type-check a
program that uses the named schemas (and refuse programs that misuse them)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from authspec.cli import main
from authspec.settings import Settings
from tests.core.conftest import make_client

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "node_modules" / ".bin"
RULESET = ROOT / ".spectral.yaml"
PROGRAMS = Path(__file__).resolve().parent / "typescript"


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make install` (it runs npm ci)")
    return path


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def _served(client: TestClient, path: str, out: Path) -> Path:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    out.write_text(answer.text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The bundles written by ``authspec bundle`` and the documents the service and the mock serve."""
    from authspec.mock.app import create_app as create_mock

    folder = tmp_path_factory.mktemp("documents")
    found = {"bundle": folder / "bundle.json", "admin bundle": folder / "admin-bundle.json"}
    assert main(["bundle", "--out", str(found["bundle"])]) == 0
    admin_spec = ROOT / "openapi" / "mock-admin.yaml"
    assert main(["bundle", "--spec", str(admin_spec), "--out", str(found["admin bundle"])]) == 0
    with make_client() as service:
        found["service"] = _served(service, "/api/v1/openapi.json", folder / "service.json")
    with TestClient(create_mock(Settings())) as mock:
        found["mock"] = _served(mock, "/api/v1/openapi.json", folder / "mock.json")
        found["mock control"] = _served(mock, "/__mock/openapi.json", folder / "mock-control.json")
    yield found


def _lint(document: Path) -> list[dict[str, Any]]:
    result = _run(
        _tool("spectral"), "lint", "--quiet", "--format", "json", "--fail-severity", "hint",
        "--ruleset", RULESET, document,
    )  # fmt: skip
    text = result.stdout.strip()
    assert text.startswith("["), (result.returncode, result.stdout, result.stderr)
    findings: list[dict[str, Any]] = json.loads(text)
    return findings


@pytest.mark.parametrize("name", ["bundle", "admin bundle", "service", "mock", "mock control"])
def test_spectral_oas_finds_no_error_and_no_warning(documents: dict[str, Path], name: str) -> None:
    assert RULESET.read_text(encoding="utf-8").count('extends: ["spectral:oas"]') == 1
    findings = _lint(documents[name])
    # Severity 0 is an error, 1 a warning; infos and hints are reported too, so they are listed.
    problems = [f"{f['code']} at {'.'.join(map(str, f['path']))}: {f['message']}" for f in findings]
    assert problems == [], problems


def test_spectral_does_report_a_broken_document(documents: dict[str, Path], tmp_path: Path) -> None:
    # The lint is not vacuous: the nullable-without-type the error envelope used to have is an error.
    spec = json.loads(documents["service"].read_text(encoding="utf-8"))
    del spec["components"]["schemas"]["ErrorEnvelope"]["properties"]["data"]["type"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(spec), encoding="utf-8")
    findings = _lint(broken)
    assert any(f["severity"] == 0 and "nullable" in f["message"] for f in findings), findings


@pytest.fixture(scope="module")
def typed(documents: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``api.d.ts`` generated from the served document and the test programs."""
    folder = tmp_path_factory.mktemp("typescript")
    generated = _run(_tool("openapi-typescript"), documents["service"], "-o", folder / "api.d.ts")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    for program in PROGRAMS.glob("*.ts"):
        shutil.copy(program, folder / program.name)
    return folder


def _tsc(folder: Path, program: str) -> subprocess.CompletedProcess[str]:
    return _run(_tool("tsc"), "--strict", "--noEmit", "--pretty", "false", program, cwd=folder)


def test_generated_types_name_the_schemas(typed: Path) -> None:
    types = (typed / "api.d.ts").read_text(encoding="utf-8")
    assert "schemas: never" not in types
    for name in ("Session", "User", "TokenPair", "ErrorCode", "SuccessEnvelope", "ErrorEnvelope", "VerifyResult"):
        assert re.search(rf"^\s+{name}: ", types, re.MULTILINE), name


def test_a_program_using_session_and_narrowing_verify_type_checks(typed: Path) -> None:
    result = _tsc(typed, "uses_the_types.ts")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("program", "line", "code"),
    [
        ("reads_tokens_without_narrowing.ts", 7, "TS2339"),  # no `tokens` on RegistrationRequired
        ("assigns_a_wrong_type.ts", 5, "TS2322"),  # boolean is not assignable to string
    ],
)
def test_a_program_misusing_the_types_fails_to_type_check(typed: Path, program: str, line: int, code: str) -> None:
    result = _tsc(typed, program)
    assert result.returncode != 0, f"{program} type-checked, but must not"
    errors = re.findall(r"^(\S+)\((\d+),\d+\): error (TS\d+)", result.stdout, re.MULTILINE)
    assert errors == [(program, str(line), code)], result.stdout + result.stderr
