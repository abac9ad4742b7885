"""New operations for free: a spec copy with operations marked ``x-planned: true`` (deliberately
without a handler) is answered from their examples, or from data generated from their schema —
never 501; an operation without a handler that is not marked stops the mock's start, naming it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from authspec.mock.app import create_app
from starlette.testclient import TestClient

from authspec.resolver import MissingHandler
from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, inline_schema, load_bundle
from tests.mock.conftest import Contract, checked_client
from tests.mock.flows import API, bearer, login


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    spec = load_bundle()
    base = spec["paths"]["/auth/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    success = copy.deepcopy(inline_schema(base, spec)["allOf"][0])
    return {"allOf": [success, {"type": "object", "properties": {"data": data}}]}


def extended_spec() -> dict[str, Any]:
    spec = load_bundle()
    unauthorized = copy.deepcopy(spec["paths"]["/auth/me"]["get"]["responses"]["401"])
    bad_request = copy.deepcopy(spec["paths"]["/auth/refresh"]["post"]["responses"]["400"])
    preferences = {
        "type": "object",
        "required": ["theme", "language", "marketingEmails", "updatedAt", "devices"],
        "properties": {
            "theme": {"type": "string", "enum": ["light", "dark", "system"]},
            "language": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
            "marketingEmails": {"type": "boolean"},
            "fontScale": {"type": "number", "minimum": 0.5, "maximum": 2},
            "updatedAt": {"type": "string", "format": "date-time", "pattern": r"^\d{4}-\d{2}-\d{2}T.*Z$"},
            "devices": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "required": ["id", "label"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "label": {"type": "string", "minLength": 3, "maxLength": 20},
                        "lastIp": {"type": "string", "format": "ipv4", "nullable": True},
                    },
                },
            },
        },
    }
    spec["paths"]["/auth/preferences"] = {
        "get": {
            "operationId": "getUserPreferences",
            "x-planned": True,
            "tags": ["auth"],
            "summary": "The caller's preferences (no example: generated)",
            "security": [{"bearerAuth": []}],
            "responses": {
                "200": {
                    "description": "The preferences.",
                    "content": {"application/json": {"schema": _envelope(preferences)}},
                },
                "401": unauthorized,
            },
        }
    }
    invoice_example = {
        "isSuccess": True,
        "statusCode": 200,
        "data": [{"number": "INV-0001", "amountCents": 1299}],
        "errors": [],
        "errorCode": None,
        "timestamp": "2026-01-15T10:30:00.000Z",
    }
    invoice = {"type": "object", "required": ["number"], "properties": {"number": {"type": "string"}}}
    spec["paths"]["/billing/invoices"] = {
        "get": {
            "operationId": "listInvoices",
            "x-planned": True,
            "tags": ["billing"],  # a tag with no module in authspec.handlers at all
            "summary": "Invoices (answered from the example)",
            "responses": {
                "200": {
                    "description": "Invoices.",
                    "content": {
                        "application/json": {
                            "schema": _envelope({"type": "array", "items": invoice}),
                            "examples": {"two": {"value": invoice_example}},
                        }
                    },
                }
            },
        },
        "post": {
            "operationId": "createInvoice",
            "x-planned": True,
            "tags": ["billing"],
            "summary": "Create an invoice (body validated, answer generated)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["amountCents"],
                            "properties": {"amountCents": {"type": "integer", "minimum": 1}},
                        }
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "Created.",
                    "content": {"application/json": {"schema": _envelope(invoice)}},
                },
                "400": bad_request,
            },
        },
    }
    return spec


@pytest.fixture(scope="module")
def extended() -> dict[str, Any]:
    return extended_spec()


@pytest.fixture
def new_client(extended: dict[str, Any]) -> Iterator[TestClient]:
    contract = Contract(extended, load_bundle(ADMIN_SPEC))
    with checked_client(create_app(Settings(), spec=extended), contract, "new-ops") as client:
        yield client


def test_operation_with_an_example_is_answered_with_it(new_client: TestClient) -> None:
    answered = new_client.get(f"{API}/billing/invoices")
    assert answered.status_code == 200
    body = answered.json()
    assert body["data"] == [{"number": "INV-0001", "amountCents": 1299}]
    assert body["timestamp"] != "2026-01-15T10:30:00.000Z"  # stamped with the world's clock


def test_operation_without_examples_gets_generated_valid_data(new_client: TestClient) -> None:
    tokens = login(new_client)["tokens"]
    first = new_client.get(f"{API}/auth/preferences", headers=bearer(tokens))
    assert first.status_code == 200, first.text  # the contract check validated the body
    data = first.json()["data"]
    assert data["theme"] in ("light", "dark", "system") and 1 <= len(data["devices"]) <= 3
    assert new_client.get(f"{API}/auth/preferences", headers=bearer(tokens)).json()["data"] == data
    # Security and validation still apply to operations answered from the contract.
    assert new_client.get(f"{API}/auth/preferences").status_code == 401
    created = new_client.post(f"{API}/billing/invoices", json={"amountCents": 100})
    assert created.status_code == 201 and "number" in created.json()["data"]
    refused = new_client.post(f"{API}/billing/invoices", json={"amountCents": 0})
    assert refused.status_code == 400 and refused.json()["errorCode"] == "validation_failed"


def test_prefer_scenarios_and_the_log_work_on_new_operations(new_client: TestClient) -> None:
    tokens = login(new_client)["tokens"]
    forced = new_client.get(f"{API}/auth/preferences", headers={**bearer(tokens), "Prefer": "code=401"})
    assert forced.status_code == 401
    queued = new_client.post("/__mock/scenarios", json={"operationId": "createInvoice", "status": 400})
    assert queued.status_code == 201
    assert new_client.post(f"{API}/billing/invoices", json={"amountCents": 5}).status_code == 400
    assert new_client.post(f"{API}/billing/invoices", json={"amountCents": 5}).status_code == 201
    logged = [e["operationId"] for e in new_client.get("/__mock/requests").json()["data"]]
    assert logged == ["requestEmailCode", "verifyEmailCode", "getUserPreferences", "createInvoice", "createInvoice"]


def test_stateful_operations_keep_their_handlers(new_client: TestClient) -> None:
    tokens = login(new_client)["tokens"]
    listed = new_client.get(f"{API}/auth/sessions", headers=bearer(tokens))
    assert len(listed.json()["data"]) == 1 and listed.json()["data"][0]["current"] is True


def test_an_operation_without_a_handler_and_not_planned_stops_the_start(extended: dict[str, Any]) -> None:
    spec = copy.deepcopy(extended)
    del spec["paths"]["/billing/invoices"]["post"]["x-planned"]
    with pytest.raises(MissingHandler) as stopped:
        create_app(Settings(), spec=spec)
    message = str(stopped.value)
    assert "\n" not in message
    assert message.startswith("operationId createInvoice (POST /billing/invoices) has no handler:")
    assert "expected function create_invoice in authspec.handlers.billing" in message
    assert "listInvoices" not in message  # planned, so not missing
