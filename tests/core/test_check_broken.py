"""``authspec check`` fails, naming the problem, on deliberately broken copies of the contract."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from authspec.cli import main
from authspec.spec import SPEC_DIR


def _edit(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        target = root / relative
        text = target.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        target.write_text(text.replace(old, new, 1), encoding="utf-8")

    return apply


def _both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for edit in edits:
            edit(root)

    return apply


BREAKAGES = {
    "missing 401": (
        _edit(
            "paths/sessions.yaml",
            "      '401':\n        $ref: '../components/common.yaml#/responses/Unauthorized'\n",
            "",
        ),
        "does not declare a 401",
    ),
    "challenge on a non-bearer 401": (
        _edit(
            "paths/auth.yaml",
            "        description: The code is wrong, expired, already used or superseded by a newer one.\n",
            "        description: The code is wrong, expired, already used or superseded by a newer one.\n"
            "        headers:\n          WWW-Authenticate:\n"
            "            $ref: '../components/common.yaml#/headers/WWW-Authenticate'\n",
        ),
        "verifyEmailCode (POST /auth/email/verify): 401 declares WWW-Authenticate, but the operation has no bearer",
    ),
    "example against schema": (
        _edit(
            "paths/auth.yaml", "data: {expiresIn: 300, resendAfter: 60}", "data: {expiresIn: '300', resendAfter: 60}"
        ),
        "does not match its schema",
    ),
    "statusCode differs": (
        _edit(
            "paths/sessions.yaml",
            "statusCode: 200\n                  data: {revokedSessions: 2}",
            "statusCode: 201\n                  data: {revokedSessions: 2}",
        ),
        "differs from the response status",
    ),
    "generic message": (
        _edit(
            "components/common.yaml",
            "errors: [Authentication required, No bearer token was sent]",
            "errors: [Unauthorized, No bearer token was sent]",
        ),
        "generic message",
    ),
    "link to nowhere": (
        _edit(
            "paths/sessions.yaml",
            "operationId: revokeSession\n            description",
            "operationId: revokeSessions\n            description",
        ),
        "no operation 'revokeSessions'",
    ),
    "link pointer": (
        _edit(
            "paths/auth.yaml",
            "refreshToken: '$response.body#/data/tokens/refreshToken'",
            "refreshToken: '$response.body#/data/token/refreshToken'",
        ),
        "does not resolve",
    ),
    "production warning": (
        _edit("paths/tokens.yaml", "**Production warning:**", "Warning:"),
        "production warning",
    ),
    "unknown error code": (
        _edit(
            "components/common.yaml", "      - service_unavailable\n", "      - service_unavailable\n      - teapot\n"
        ),
        "'teapot'",
    ),
    "operation without a handler": (
        _edit("paths/health.yaml", "operationId: getHealth", "operationId: getLiveness"),
        "operationId getLiveness (GET /healthz) has no handler: expected function get_liveness in "
        "authspec.handlers.health",
    ),
    "stale planned mark": (
        _edit("paths/health.yaml", "operationId: getHealth\n", "operationId: getHealth\n    x-planned: true\n"),
        "operationId getHealth (GET /healthz) is marked x-planned but has a handler",
    ),
    "invalid document": (
        _edit("openapi.yaml", "openapi: 3.0.3", "openapi: 3.0.3\nwebhooks: 12"),
        "openapi-spec-validator",
    ),
    "inline request body": (
        _edit(
            "paths/auth.yaml",
            "            $ref: '../components/auth.yaml#/schemas/RequestCodeBody'\n",
            "            type: object\n            additionalProperties: false\n            required: [email]\n"
            "            properties:\n              email: {type: string}\n",
        ),
        "requestEmailCode (POST /auth/email/request-code): the request body (application/json) schema must be a $ref",
    ),
    "inline response body": (
        _edit(
            "paths/health.yaml",
            "              $ref: '../components/health.yaml#/schemas/HealthEnvelope'\n",
            "              allOf:\n                - $ref: '../components/common.yaml#/schemas/SuccessEnvelope'\n",
        ),
        "getHealth (GET /healthz): the 200 response (application/json) schema must be a $ref",
    ),
    "envelope data not required": (
        _edit("components/health.yaml", "        required: [data]\n", ""),
        "HealthEnvelope: the schema that types data must list it in required",
    ),
    "envelope data typed inline": (
        _edit("components/tokens.yaml", "            $ref: '#/schemas/RevokedToken'\n", "            type: object\n"),
        "RevokedTokenEnvelope: data must be a $ref to a named schema",
    ),
    "admin envelope data untyped": (
        _edit("mock-admin.yaml", "data: {$ref: '#/components/schemas/Reset'}", "data: {}"),
        "mock-admin.yaml: resetWorld (POST /reset): 200 response envelope ResetEnvelope: data has no type",
    ),
    "schema name used twice": (
        _both(
            _edit("components/sessions.yaml", "  SessionId:\n", "  Timestamp:\n    type: string\n  SessionId:\n"),
            _edit("components/sessions.yaml", "$ref: 'common.yaml#/schemas/Timestamp'", "$ref: '#/schemas/Timestamp'"),
        ),
        "two schemas are named Timestamp",
    ),
    "dangling ref": (
        _edit("paths/auth.yaml", "#/schemas/CodeSentEnvelope", "#/schemas/NoSuchEnvelope"),
        "openapi.yaml",
    ),
    "pattern with a bare $": (
        _edit("components/tokens.yaml", "pattern: '^[A-Za-z0-9_-]+(?!\\n)$'", "pattern: '^[A-Za-z0-9_-]+$'"),
        "/components/schemas/OpaqueToken: pattern '^[A-Za-z0-9_-]+$' a bare $ also matches before a final newline",
    ),
    "pattern with a Unicode class": (
        _edit("components/common.yaml", "pattern: '^[0-9]{4}-", "pattern: '^\\d{4}-"),
        "/components/schemas/Timestamp: pattern",
    ),
    "token answer without no-store": (
        _edit(
            "paths/tokens.yaml",
            "          Cache-Control:\n            $ref: '../components/common.yaml#/headers/Cache-Control'\n",
            "",
        ),
        "refreshToken (POST /auth/refresh): 200 carries accessToken, refreshToken; declare the Cache-Control header",
    ),
    "outbox without no-cache": (
        _edit(
            "mock-admin.yaml", "            Pragma:\n              $ref: 'components/common.yaml#/headers/Pragma'\n", ""
        ),
        "mock-admin.yaml: getOutbox (GET /outbox): 200 carries code; declare the Pragma header",
    ),
    "fixed header on an error": (
        _edit(
            "paths/auth.yaml",
            "        description: An account already exists for this email.\n",
            "        description: An account already exists for this email.\n        headers:\n          Pragma:\n"
            "            $ref: '../components/common.yaml#/headers/Pragma'\n",
        ),
        "completeRegistration (POST /auth/register): 409 declares the fixed header Pragma, but only success answers",
    ),
    "fixed header not required": (
        _edit(
            "components/common.yaml",
            "    required: true\n    schema:\n      type: string\n      enum: [no-cache]",
            "    schema:\n      type: string\n      enum: [no-cache]",
        ),
        "refreshToken (POST /auth/refresh): 200 header Pragma has one value; declare it required: true",
    ),
}


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_check_fails_on_a_broken_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    root = tmp_path / "openapi"
    shutil.copytree(SPEC_DIR, root)
    assert main(["check", "--spec", str(root / "openapi.yaml"), "--admin-spec", str(root / "mock-admin.yaml")]) == 0
    breakage, expected = BREAKAGES[name]
    breakage(root)
    assert main(["check", "--spec", str(root / "openapi.yaml"), "--admin-spec", str(root / "mock-admin.yaml")]) == 1
    err = capsys.readouterr().err
    assert expected in err, err
