"""A ``pattern`` means what ECMA-262 says in every validator, and the contract's patterns are portable.

jsonschema-rs (the fast path) reads patterns as ECMA-262; the Python validators that decide when it
refuses a value, check parameters or run the house rules used to read them as Python's ``re``,
whose ``$`` also matches before a final newline and whose ``\\d`` spans Unicode digits. The HTTP
tests use copies of the contract with such non-portable patterns on purpose, so that they test
the validators, not the contract's own (portable) patterns.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from authspec.app import create_app
from authspec.patterns import PORTABLE_END, check_patterns, ecma_search, pattern_problems, with_ecma_patterns
from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, load_bundle
from tests.core.conftest import ANY_OPERATION, FAKE_HANDLERS, accept_named_tokens
from tests.helpers import assert_error, bundle

BEARER = {"Authorization": "Bearer good-ada"}
SESSION_ID = "7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a66"
REGISTER = {"registrationToken": "Zr3mP0aQ7vL2xN8cK5tY1wE9hB4uJ6sD0gF3iO7pR2q", "firstName": "Ada", "lastName": "42"}


def _unportable(spec: dict[str, Any]) -> dict[str, Any]:
    """The contract with Python-ambiguous patterns: a bare ``$`` on the device name, ``\\d`` on the
    last name and at the end of the session id (a newline cannot reach a path parameter: the router
    answers 404)."""
    spec = copy.deepcopy(spec)
    register = spec["paths"]["/auth/register"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    register["properties"]["deviceName"]["pattern"] = r"^[^\x00-\x1f\x7f]+$"
    register["properties"]["lastName"]["pattern"] = r"^\d+$"
    for parameter in spec["paths"]["/sessions/{id}/revoke"]["post"].get("parameters", []):
        parameter["schema"]["pattern"] = r"^[0-9a-f-]{35}\d"
    for parameter in spec["paths"]["/sessions/{id}/revoke"].get("parameters", []):
        parameter["schema"]["pattern"] = r"^[0-9a-f-]{35}\d"
    return spec


@pytest.fixture(params=[True, False], ids=["fast", "stock"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    app = create_app(
        Settings(),
        handlers=FAKE_HANDLERS,
        planned=ANY_OPERATION,
        bearer=accept_named_tokens,
        spec=_unportable(bundle()),
        fast=request.param,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_body_value_with_a_final_newline_is_refused_under_a_bare_dollar(client: TestClient) -> None:
    accepted = client.post("/api/v1/auth/register", json={**REGISTER, "deviceName": "Laptop"})
    assert accepted.status_code == 409  # the fake handler's answer: validation let it through
    body = assert_error(
        client.post("/api/v1/auth/register", json={**REGISTER, "deviceName": "Laptop\n"}), 400, "validation_failed"
    )
    assert body["errors"][1].startswith("body.deviceName: 'Laptop\\n' does not match pattern"), body


def test_a_body_value_of_unicode_digits_is_refused_by_an_ascii_digit_class(client: TestClient) -> None:
    assert client.post("/api/v1/auth/register", json={**REGISTER, "lastName": "42"}).status_code == 409
    body = assert_error(
        client.post("/api/v1/auth/register", json={**REGISTER, "lastName": "\u0664\u0662"}), 400, "validation_failed"
    )
    assert body["errors"][1].startswith("body.lastName: "), body


def test_a_path_parameter_of_unicode_digits_is_refused_by_an_ascii_digit_class(client: TestClient) -> None:
    planned = client.post(f"/api/v1/sessions/{SESSION_ID}/revoke", headers=BEARER)
    assert planned.status_code == 501  # valid: the planned operation's answer
    arabic_six = "%D9%A6"  # U+0666, a digit to Python's \d, not to ECMA-262's
    body = assert_error(
        client.post(f"/api/v1/sessions/{SESSION_ID[:-1]}{arabic_six}/revoke", headers=BEARER), 400, "validation_failed"
    )
    assert body["errors"][1].startswith("id: "), body


@pytest.mark.parametrize(
    "base", [Draft4Validator, Draft4RequestValidator, Draft4ResponseValidator, OAS30Validator], ids=lambda c: c.__name__
)
def test_every_python_validator_class_reads_pattern_as_ecma(base: Any) -> None:
    validator = with_ecma_patterns(base)({"type": "string", "pattern": r"^[a-z]+$"})
    assert validator.is_valid("laptop")
    assert not validator.is_valid("laptop\n")
    assert re.search(r"^[a-z]+$", "laptop\n")  # what Python's own reading accepts


def test_ecma_search_reads_dollar_and_classes_as_ecma() -> None:
    assert not ecma_search(r"^[0-9]{6}$", "123456\n")
    assert not ecma_search(r"^\d$", "\u0664")
    assert ecma_search(r"^[0-9]{6}(?!\n)$", "123456")
    assert not ecma_search("^a$", "a\ud800")  # a value the engine cannot take does not match


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"^[0-9]{6}$", "a bare $ also matches before a final newline in Python"),
        (r"^(a|b$)", "a bare $ also matches before a final newline in Python"),
        (r"^\d{6}" + PORTABLE_END, r"\d, \w and \s differ"),
        (r"^[\w-]+" + PORTABLE_END, r"\d, \w and \s differ"),
        (r"^\bword" + PORTABLE_END, r"\b and \B differ"),
        (r"\Aabc\Z", r"\A and \Z are Python's anchors"),
        (r"(?i)^abc" + PORTABLE_END, "sets inline flags"),
        (r"^(?i:abc)" + PORTABLE_END, "sets inline flags"),
        (r"^[a-z" + PORTABLE_END, "does not compile in Python"),
    ],
)
def test_a_pattern_that_reads_differently_is_a_problem(pattern: str, expected: str) -> None:
    problems = pattern_problems(pattern)
    assert any(expected in problem for problem in problems), problems


def test_a_portable_pattern_is_no_problem_and_agrees_on_its_example_with_a_final_newline() -> None:
    assert pattern_problems(r"^[0-9]{6}(?!\n)$", "493027") == []
    assert pattern_problems(r"^(?=[^@]+@)[a-z@.]+(?!\n)$", "ada@example.com") == []


def test_every_pattern_of_the_contract_and_the_control_api_is_portable() -> None:
    assert check_patterns(load_bundle()) == []
    assert check_patterns(load_bundle(ADMIN_SPEC)) == []


def test_check_patterns_names_where_the_pattern_is_written() -> None:
    spec = {"components": {"schemas": {"Code": {"type": "string", "pattern": "^[0-9]{6}$", "example": "123456"}}}}
    assert check_patterns(spec) == [
        "/components/schemas/Code: pattern '^[0-9]{6}$' a bare $ also matches before a final newline in Python; "
        f"close with {PORTABLE_END}"
    ]
