"""Every declared status of every operation can be answered from the contract, validly; the
generator respects patterns, formats and bounds."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from authspec.mock.generator import Generator, merge_all_of
from authspec.mock.responder import Responder, ResponseChoiceError, declared_statuses
from starlette.testclient import TestClient

from authspec.spec import ADMIN_SPEC, API_SPEC, inline_document, iter_operations, load_bundle, path_servers_root
from tests.mock.flows import API, bearer, login

OPERATIONS = [op for _path, _method, op in iter_operations(inline_document(load_bundle()))]
ROUTES = {op["operationId"]: (path, method) for path, method, op in iter_operations(load_bundle())}
#: Paths served at the site root rather than under /api/v1 (their path item overrides `servers`).
ROOT_PATHS = {path for path, item in load_bundle()["paths"].items() if path_servers_root(item)}


def _credentials(operation: dict[str, Any], tokens: dict[str, Any]) -> dict[str, str]:
    """The resource server's Basic credentials (the mock's development client) for its operations,
    else the user's bearer token."""
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if "resourceServerAuth" in schemes:
        return {"Authorization": "Basic " + base64.b64encode(b"dev-resource-server:dev-secret").decode()}
    return bearer(tokens)


def _request_body(operation: dict[str, Any]) -> Any:
    media = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    return media.get("example") if media else None


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op["operationId"])
def test_every_declared_status_over_http(client: TestClient, operation: dict[str, Any]) -> None:
    """Prefer code (example) and code + dynamic (generated) for each status; the client fixture
    validates every body against the contract."""
    tokens = login(client)["tokens"]
    path, method = ROUTES[operation["operationId"]]
    url = ("" if path in ROOT_PATHS else API) + path.replace("{id}", "7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a6b")
    for status in declared_statuses(operation):
        for prefer in (f"code={status}", f"code={status}, dynamic=true"):
            answered = client.request(
                method.upper(),
                url,
                json=_request_body(operation),
                headers={**_credentials(operation, tokens), "Prefer": prefer},
            )
            assert answered.status_code == status, (prefer, answered.text)


@pytest.mark.parametrize(
    "spec", [inline_document(load_bundle(d)) for d in (API_SPEC, ADMIN_SPEC)], ids=["api", "admin"]
)
def test_every_operation_has_a_valid_generated_body_for_every_status(spec: dict[str, Any]) -> None:
    responder = Responder()
    now = datetime.now(UTC)
    for _path, _method, operation in iter_operations(spec):
        for status in declared_statuses(operation):
            generated = responder.answer(operation, now, status=status, dynamic=True)
            assert generated.status == status
            assert generated.source == "generated"


def test_undeclared_status_is_refused() -> None:
    with pytest.raises(ResponseChoiceError, match="does not declare"):
        Responder().answer(OPERATIONS[0], datetime.now(UTC), status=418)


@pytest.mark.parametrize(
    "pattern",
    [r"^[0-9]{6}$", r"^[A-Za-z0-9_-]+$", r"\S", r"^[a-z]{2}(-[A-Z]{2})?$", r"^(red|green|blue)$", r"^v\d+\.\d+$"],
)
def test_strings_match_their_pattern(pattern: str) -> None:
    for seed in range(20):
        text = Generator(seed).value({"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 64})
        assert re.search(pattern, text), (pattern, text)


def test_formats_and_bounds() -> None:
    gen = Generator("fixed")
    for _ in range(20):
        assert re.fullmatch(r"[0-9a-f-]{36}", gen.value({"type": "string", "format": "uuid"}))
        assert "@" in gen.value({"type": "string", "format": "email"})
        assert gen.value({"type": "string", "format": "date-time"}).endswith("Z")
        assert 5 <= gen.value({"type": "integer", "minimum": 5, "maximum": 7}) <= 7
        assert 0 < gen.value({"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1}) <= 1
        assert 3 <= len(gen.value({"type": "string", "minLength": 3, "maxLength": 4})) <= 4
        items = gen.value({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3})
        assert 2 <= len(items) <= 3
        assert gen.value({"type": "string", "nullable": True, "enum": [None, "x"]}) == "x"


def test_same_seed_same_value_and_all_of_merges() -> None:
    schema = merge_all_of(
        [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "maximum": 10}}},
            {"type": "object", "required": ["b"], "properties": {"a": {"minimum": 5}, "b": {"type": "boolean"}}},
        ]
    )
    assert schema["required"] == ["a", "b"] and schema["properties"]["a"] == {
        "type": "integer",
        "maximum": 10,
        "minimum": 5,
    }
    assert Generator("s").value(schema) == Generator("s").value(schema)
    assert 5 <= Generator("s").value(schema)["a"] <= 10


def test_bundle_cache_is_keyed_by_the_documents(tmp_path: Path) -> None:
    from authspec.mock.bundles import document_digest, load_bundle_cached

    first = load_bundle_cached(API_SPEC, tmp_path)
    cached = list(tmp_path.glob("openapi-*.json"))
    assert len(cached) == 1 and cached[0].name == f"openapi-{document_digest(API_SPEC)}.json"
    assert load_bundle_cached(API_SPEC, tmp_path) == first == load_bundle()
    cached[0].write_text("{not json")  # a broken cache entry is ignored and rewritten
    stale = tmp_path / "openapi-0000.json"
    stale.write_text("{}")
    assert load_bundle_cached(API_SPEC, tmp_path) == first
    assert not stale.exists()
