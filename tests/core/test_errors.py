"""Every error class comes back as the envelope with the right status, errorCode and headers."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from tests.core.conftest import make_client
from tests.helpers import assert_error

REQUEST_CODE = "/api/v1/auth/email/request-code"
ME = "/api/v1/auth/me"
JSON = {"content-type": "application/json"}


def test_schema_violation_is_400_with_the_violation(client: TestClient) -> None:
    body = assert_error(client.post(REQUEST_CODE, json={"email": "a@b.co", "extra": 1}), 400, "validation_failed")
    assert any("extra" in message for message in body["errors"][1:]), body


def test_missing_required_field_is_400(client: TestClient) -> None:
    body = assert_error(client.post("/api/v1/auth/email/verify", json={"email": "a@b.co"}), 400, "validation_failed")
    assert any("code" in message for message in body["errors"][1:]), body


def test_malformed_json_is_400_malformed_request(client: TestClient) -> None:
    assert_error(client.post(REQUEST_CODE, content=b'{"email": ', headers=JSON), 400, "malformed_request")


def test_non_utf8_body_is_400_not_500(client: TestClient) -> None:
    # connexion#1860: without a handler this escapes as a 500.
    assert_error(client.post(REQUEST_CODE, content=b"\xff\xfe\xfa", headers=JSON), 400, "malformed_request")


def test_bad_path_parameter_is_400(client: TestClient) -> None:
    response = client.post("/api/v1/sessions/not-a-uuid/revoke", headers={"Authorization": "Bearer good-ada"})
    assert_error(response, 400, "validation_failed")


def test_unknown_query_parameter_is_400(client: TestClient) -> None:
    response = client.get(ME + "?debug=1", headers={"Authorization": "Bearer good-ada"})
    assert_error(response, 400, "validation_failed")


def test_missing_bearer_is_401_with_www_authenticate(client: TestClient) -> None:
    response = client.get(ME)
    assert_error(response, 401, "authentication_required")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer bad-token", "Bearer", "Bearer  "])
def test_a_bearer_header_without_a_valid_token_is_401_invalid_token(client: TestClient, header: str) -> None:
    response = client.get(ME, headers={"Authorization": header})
    assert_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_credentials_of_another_scheme_are_401_authentication_required(client: TestClient) -> None:
    # Basic credentials are no bearer token at all: the client has not authenticated yet.
    response = client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(response, 401, "authentication_required")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_valid_bearer_reaches_the_handler(client: TestClient) -> None:
    response = client.get(ME, headers={"Authorization": "Bearer good-ada"})
    assert response.status_code == 200
    body = response.json()
    assert body["isSuccess"] is True and body["errors"] == [] and body["errorCode"] is None
    assert body["data"]["email"] == "ada@example.com"


def test_raised_403(client: TestClient) -> None:
    assert_error(client.get(ME, headers={"Authorization": "Bearer good-forbidden"}), 403, "forbidden")


def test_raised_409(client: TestClient) -> None:
    body = {"registrationToken": "a" * 43, "firstName": "Ada", "lastName": "Lovelace"}
    assert_error(client.post("/api/v1/auth/register", json=body), 409, "already_registered")


def test_raised_429_has_retry_after(client: TestClient) -> None:
    response = client.get(ME, headers={"Authorization": "Bearer good-limited"})
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "30"


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/nowhere", "/api/v1/auth/sessions/extra"])
def test_unknown_route_is_404(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", REQUEST_CODE, "POST"),
        ("delete", "/api/v1/auth/sessions", "GET, HEAD"),
        ("put", "/api/v1/sessions/7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a6b/revoke", "POST"),
        ("post", "/.well-known/jwks.json", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405_with_allow(client: TestClient, method: str, path: str, allowed: str) -> None:
    response = client.request(method.upper(), path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allowed


def test_announced_oversized_body_is_413(client: TestClient) -> None:
    response = client.post(REQUEST_CODE, json={"email": "a" * 70_000 + "@b.co"})
    assert_error(response, 413, "payload_too_large")


def test_streamed_oversized_body_is_413() -> None:
    # No Content-Length: the limit is counted as the body streams in.
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"email": "'
        for _ in range(20):
            yield b"a" * 1024
        yield b'@b.co"}'

    with make_client(max_body_bytes=4096) as client:
        response = client.post(REQUEST_CODE, content=chunks(), headers=JSON)
    assert_error(response, 413, "payload_too_large")


def test_body_limit_is_configurable() -> None:
    with make_client(max_body_bytes=16) as client:
        assert_error(client.post(REQUEST_CODE, json={"email": "ada@example.com"}), 413, "payload_too_large")


def test_wrong_content_type_is_415(client: TestClient) -> None:
    response = client.post(REQUEST_CODE, content=b"email=a@b.co", headers={"content-type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")


def test_unexpected_exception_is_500_without_leaking(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="authspec.errors"):
        response = client.get(ME, headers={"Authorization": "Bearer good-crash"})
    body = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert body["errors"] == ["Internal server error"]
    assert "hunter2" in caplog.text  # the cause is logged for operators


def test_nonconforming_response_is_500_without_schema_details(client: TestClient) -> None:
    response = client.get(ME, headers={"Authorization": "Bearer good-nonconforming"})
    body = assert_error(response, 500, "internal_error")
    assert body["errors"] == ["Internal server error"]
    assert "secretField" not in response.text and "schema" not in response.text.lower()


def test_operation_without_handler_is_501(client: TestClient) -> None:
    body = assert_error(client.post(REQUEST_CODE, json={"email": "ada@example.com"}), 501, "not_implemented")
    assert "requestEmailCode" in body["errors"][1]
    assert "fake_handlers" not in body["errors"][1]  # no module paths leak


def test_root_level_operation_without_handler_is_501(client: TestClient) -> None:
    assert_error(client.get("/.well-known/jwks.json"), 501, "not_implemented")


def test_cors_headers_on_success_and_errors() -> None:
    origin = "http://localhost:5173"
    with make_client(cors_origins=[origin]) as client:
        ok = client.get(ME, headers={"Authorization": "Bearer good-ada", "Origin": origin})
        err = client.get(ME, headers={"Origin": origin})
    for response in (ok, err):
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-credentials"] == "true"
    assert (ok.status_code, err.status_code) == (200, 401)


def test_chunked_body_within_the_limit_is_read() -> None:
    # Connexion alone would take a body without Content-Length as missing.
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"email": '
        yield b'"ada@example.com"}'

    with make_client() as client:
        response = client.post(REQUEST_CODE, content=chunks(), headers=JSON)
    assert_error(response, 501, "not_implemented")  # validated and routed: the body arrived


@pytest.mark.parametrize(
    ("content", "revoked"),
    [(b'{"scope": "current"}', 1), (b'{"scope": "others"}', 2), (b"", 3)],
    ids=["current", "others", "empty body"],
)
def test_a_body_without_content_type_reaches_the_handler_parsed(
    client: TestClient, content: bytes, revoked: int
) -> None:
    # Connexion alone validates such a body as JSON, then hands the handler raw bytes.
    response = client.post("/api/v1/auth/logout", content=content, headers={"Authorization": "Bearer good-ada"})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"revokedSessions": revoked}


def test_a_body_without_content_type_is_still_validated(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/logout", content=b'{"scope": "everything"}', headers={"Authorization": "Bearer good-ada"}
    )
    assert_error(response, 400, "validation_failed")
