"""Headers the contract fixes to one value are sent by the app wherever it declares them (``authspec.fixed_headers``).

The tests declare a fixed header on getCurrentUser's 200 in a copy of the contract, so they test
the mechanism (fast path and stock Connexion, with response validation on) rather than the
contract's own no-store responses (``tests/service/test_no_store.py``, ``tests/mock/test_no_store.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authspec.app import create_app
from authspec.fixed_headers import FixedHeaders, fixed_header_problems
from authspec.settings import Settings
from tests.core.conftest import ANY_OPERATION, FAKE_HANDLERS, accept_named_tokens
from tests.helpers import bundle

BEARER = {"Authorization": "Bearer good-ada"}
FIXED = {"required": True, "schema": {"type": "string", "enum": ["no-store"]}}


def _with_fixed_header_on_me(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    ok = spec["paths"]["/auth/me"]["get"]["responses"]["200"]
    ok["headers"] = {**(ok.get("headers") or {}), "Cache-Control": FIXED}
    return spec


@pytest.fixture(params=[True, False], ids=["fast", "stock"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    app = create_app(
        Settings(validate_responses=True),
        handlers=FAKE_HANDLERS,
        planned=ANY_OPERATION,
        bearer=accept_named_tokens,
        spec=_with_fixed_header_on_me(bundle()),
        fast=request.param,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_declared_fixed_header_is_sent_once_and_passes_response_validation(client: TestClient) -> None:
    me = client.get("/api/v1/auth/me", headers=BEARER)
    assert me.status_code == 200, me.text
    assert me.headers.get_list("cache-control") == ["no-store"]


def test_an_error_of_the_same_operation_carries_no_fixed_header(client: TestClient) -> None:
    refused = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer bad"})
    assert refused.status_code == 401
    assert refused.headers.get_list("cache-control") == []


def test_the_table_prefers_the_status_then_its_range_then_default() -> None:
    header = {"schema": {"enum": ["x"]}}
    spec = {
        "paths": {
            "/a": {
                "get": {
                    "operationId": "a",
                    "responses": {
                        "200": {"headers": {"X-Exact": header}},
                        "2XX": {"headers": {"X-Range": header}},
                        "default": {"headers": {"X-Default": header}},
                    },
                }
            }
        }
    }
    table = FixedHeaders().add("/api/v1/", spec)
    assert table.lookup("/api/v1", "a", 200) == ((b"x-exact", b"x"),)
    assert table.lookup("/api/v1", "a", 204) == ((b"x-range", b"x"),)
    assert table.lookup("/api/v1", "a", 500) == ((b"x-default", b"x"),)
    assert table.lookup("/__mock", "a", 200) == ()


def test_the_house_rule_asks_no_store_wherever_a_success_body_holds_a_credential() -> None:
    schema = {"type": "object", "properties": {"data": {"allOf": [{"properties": {"idToken": {"type": "string"}}}]}}}
    spec = {
        "paths": {
            "/login": {
                "post": {
                    "operationId": "login",
                    "responses": {"200": {"content": {"application/json": {"schema": schema}}}},
                }
            }
        }
    }
    assert fixed_header_problems(spec) == [
        "login (POST /login): 200 carries idToken; declare the Cache-Control header "
        "(no-store, components/common.yaml#/headers/Cache-Control)",
        "login (POST /login): 200 carries idToken; declare the Pragma header "
        "(no-cache, components/common.yaml#/headers/Pragma)",
    ]
