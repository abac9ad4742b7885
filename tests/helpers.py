"""Helpers shared by the test suites: envelope assertions against the contract, free ports."""

from __future__ import annotations

import re
import socket
from functools import cache
from typing import Any

from authspec.errors import generic_message
from authspec.spec import load_bundle

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@cache
def bundle() -> dict[str, Any]:
    return load_bundle()


def error_envelope_schema() -> dict[str, Any]:
    """ErrorEnvelope as the bundle resolves it (taken from listSessions' 401)."""
    op = bundle()["paths"]["/auth/sessions"]["get"]
    schema: dict[str, Any] = op["responses"]["401"]["content"]["application/json"]["schema"]
    return schema


def validate(schema: dict[str, Any], value: Any) -> None:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    errors = [e.message for e in OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(value)]
    assert not errors, errors


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is the error envelope of ``status`` with ``code``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["isSuccess"] is False
    assert body["statusCode"] == status
    assert body["data"] is None
    assert body["errors"][0] == generic_message(status)
    assert body["errorCode"] == code, body
    assert TIMESTAMP.match(body["timestamp"]), body["timestamp"]
    validate(error_envelope_schema(), body)
    return body


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
