"""``authspec serve`` on a free loopback port answers the contract and Swagger UI, then stops."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from authspec.spec import iter_operations, load_bundle
from tests.helpers import ServerProcess, authspec_cli, clean_env

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    env = clean_env(AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", AUTHSPEC_MAIL_BACKEND="memory")
    with ServerProcess(
        partial(authspec_cli, "serve"), env=env, log=tmp_path / "serve.log", cwd=tmp_path, lifetime=120
    ) as server:
        yield server.url


def test_serve_answers_the_contract_and_swagger_ui(served: str) -> None:
    spec = httpx.get(f"{served}/api/v1/openapi.json", timeout=5)
    assert spec.status_code == 200
    document = spec.json()
    served_ids = sorted(op["operationId"] for _path, _method, op in iter_operations(document))
    assert served_ids == sorted(op["operationId"] for _path, _method, op in iter_operations(load_bundle()))
    assert [s["url"] for s in document["servers"]] == [f"{served}/api/v1"]  # itself, no Production

    docs = httpx.get(f"{served}/api/v1/docs/", timeout=5)
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text.lower()
    assert "/api/v1/openapi.json" in docs.text

    missing = httpx.get(f"{served}/api/v1/nowhere", timeout=5)
    assert missing.status_code == 404 and missing.json()["errorCode"] == "not_found"
