"""Every validation problem is one readable line, ``<where>: <problem>``, on the fast path and stock Connexion."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authspec.app import create_app
from authspec.settings import Settings
from tests.core.conftest import ANY_OPERATION, FAKE_HANDLERS, accept_named_tokens
from tests.helpers import assert_error, bundle

UUID_PATTERN = repr(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?!\n)$")
CODE_PATTERN = repr(r"^[0-9]{6}(?!\n)$")
BEARER = {"Authorization": "Bearer good-ada"}


def _with_header_parameter(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract with a query and a header parameter on listSessions (the contract declares none)."""
    spec = copy.deepcopy(spec)
    operation = spec["paths"]["/auth/sessions"]["get"]
    operation["parameters"] = [
        *operation.get("parameters", []),
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
        {"name": "X-Sort", "in": "header", "schema": {"type": "string", "enum": ["newest", "oldest"]}},
    ]
    return spec


@pytest.fixture(params=[True, False], ids=["fast", "stock"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    app = create_app(
        Settings(),
        handlers=FAKE_HANDLERS,
        planned=ANY_OPERATION,
        bearer=accept_named_tokens,
        spec=_with_header_parameter(bundle()),
        fast=request.param,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _details(response: Any) -> list[str]:
    body = assert_error(response, 400, "validation_failed")
    details: list[str] = body["errors"][1:]
    assert all("\n" not in line for line in details), details
    return details


def test_a_bad_path_parameter_is_one_line_naming_it(client: TestClient) -> None:
    response = client.post("/api/v1/sessions/abc/revoke", headers=BEARER)
    assert _details(response) == [f"id: 'abc' does not match pattern {UUID_PATTERN}"]


def test_each_bad_body_field_is_one_line_with_its_path(client: TestClient) -> None:
    response = client.post("/api/v1/auth/email/verify", json={"email": "x", "code": "12"})
    assert _details(response) == [
        f"body.code: '12' does not match pattern {CODE_PATTERN}",
        "body.email: 'x' is not a 'email'",
    ]


def test_a_missing_body_field_is_one_line_at_the_body(client: TestClient) -> None:
    response = client.post("/api/v1/auth/email/verify", json={"email": "ada@example.com"})
    assert _details(response) == ["body: 'code' is a required property"]


def test_a_bad_query_parameter_is_one_line_naming_it(client: TestClient) -> None:
    assert _details(client.get("/api/v1/auth/sessions?page=0", headers=BEARER)) == [
        "page: 0 is less than the minimum of 1"
    ]
    assert _details(client.get("/api/v1/auth/sessions?debug=1", headers=BEARER)) == [
        "Extra query parameter(s) debug not in spec"
    ]


def test_a_bad_header_parameter_is_one_line_naming_it(client: TestClient) -> None:
    response = client.get("/api/v1/auth/sessions", headers={**BEARER, "X-Sort": "random"})
    assert _details(response) == ["X-Sort: 'random' is not one of ['newest', 'oldest']"]
