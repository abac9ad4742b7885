"""The package as a user gets it: a wheel built from this tree, installed into a fresh venv without
the dev extra, run from an empty directory.

Inside the checkout the contract and every import are found through the source tree; this test
proves they are found from the installed wheel alone: ``authspec check`` and ``authspec bundle``
read the contract shipped inside the package, and ``authspec mock`` and ``authspec serve`` start
on free ports and answer. It builds and installs once per module (pip's cache keeps it short).
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from authspec.spec import iter_operations
from tests.helpers import ServerProcess, clean_env

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("authspec-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the wheel and its declared runtime dependencies only."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    return bin_dir


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_wheel_carries_the_contract(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {
        "authspec/openapi/openapi.yaml",
        "authspec/openapi/mock-admin.yaml",
        "authspec/openapi/paths/auth.yaml",
        "authspec/openapi/components/common.yaml",
    } <= set(names)


def test_the_wheel_claims_only_the_authspec_import_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"authspec"}


def test_the_wheel_carries_the_mock_service_and_contract_suite_under_authspec(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "authspec/mock/app.py",
        "authspec/mock/fixtures/users.yaml",
        "authspec/handlers/app.py",
        "authspec/contract_tests/test_operations.py",
    } <= names


def test_check_passes_from_an_empty_directory(installed: Path, empty_dir: Path) -> None:
    result = subprocess.run(
        [str(installed / "authspec"), "check"], cwd=empty_dir, env=clean_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bundle_writes_the_contract_from_an_empty_directory(installed: Path, empty_dir: Path) -> None:
    subprocess.run(
        [str(installed / "authspec"), "bundle", "--out", "openapi.json"], cwd=empty_dir, env=clean_env(), check=True
    )
    document = json.loads((empty_dir / "openapi.json").read_text())
    operation_ids = {op["operationId"] for _path, _method, op in iter_operations(document)}
    assert {"requestEmailCode", "verifyEmailCode", "refreshToken", "listSessions", "getJwks"} <= operation_ids


def test_the_installed_mock_logs_in_through_its_outbox(installed: Path, empty_dir: Path, tmp_path: Path) -> None:
    def command(port: int) -> list[str]:
        return [str(installed / "authspec"), "mock", "--host", "127.0.0.1", "--port", str(port)]

    with ServerProcess(command, env=clean_env(), log=tmp_path / "mock.log", cwd=empty_dir, lifetime=120) as mock:
        email = "wheel@example.com"
        assert httpx.post(mock.api + "/auth/email/request-code", json={"email": email}).status_code == 200
        outbox = httpx.get(mock.url + "/__mock/outbox").json()["data"]
        code = next(entry["code"] for entry in outbox if entry["to"] == email)
        verified = httpx.post(mock.api + "/auth/email/verify", json={"email": email, "code": code})
        assert verified.status_code == 200
        assert verified.json()["data"]["status"] in {"authenticated", "registration_required"}


def test_the_installed_service_answers_from_an_empty_directory(
    installed: Path, empty_dir: Path, tmp_path: Path
) -> None:
    def command(port: int) -> list[str]:
        return [str(installed / "authspec"), "serve", "--host", "127.0.0.1", "--port", str(port)]

    with ServerProcess(command, env=clean_env(), log=tmp_path / "serve.log", cwd=empty_dir, lifetime=120) as service:
        answer = httpx.post(service.api + "/auth/email/request-code", json={"email": "wheel@example.com"})
        assert answer.status_code == 200
        assert httpx.get(service.url + "/.well-known/jwks.json").json()["keys"]
