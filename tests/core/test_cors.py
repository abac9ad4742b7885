"""CORS: origins checked when read, the real service closed by default, preflights, exposed headers."""

from __future__ import annotations

import logging
import subprocess

import pytest
from pydantic import ValidationError

from authspec.cors import EXPOSED_HEADERS, normalise_origin
from authspec.settings import Settings, describe_errors
from tests.core.conftest import make_client
from tests.helpers import authspec_cli, clean_env, free_port

ME = "/api/v1/auth/me"
PAGE = "http://localhost:5173"


def preflight(method: str = "GET", headers: str | None = "authorization", origin: str = PAGE) -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("http://localhost:5173/", "http://localhost:5173"),
        ("https://app.example.com", "https://app.example.com"),
        ("HTTPS://App.Example.com:443/", "https://app.example.com"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        (" http://a.test ", "http://a.test"),
        ("*", "*"),
    ],
)
def test_an_origin_is_normalised_as_a_browser_sends_it(given: str, origin: str) -> None:
    assert normalise_origin(given) == origin


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("http://app.example.com/login", "must be an origin (scheme://host[:port]) without a path, query or fragment"),
        ("http://app.example.com?x=1", "must be an origin (scheme://host[:port]) without a path, query or fragment"),
        ("ftp://app.example.com", "must start with http:// or https://"),
        ("app.example.com", "must start with http:// or https://"),
        ("http://", "has no host"),
        ("http://a.test:99999", "has an invalid port"),
        ("http://user:pw@a.test", "must not carry credentials"),
    ],
)
def test_a_setting_that_is_not_an_origin_is_refused_in_one_line_naming_it(given: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(cors_origins=[given])
    (line,) = describe_errors(raised.value)
    assert line == f"AUTHSPEC_CORS_ORIGINS: {given!r} {reason}"


def test_the_trailing_slash_of_a_configured_origin_is_dropped() -> None:
    assert Settings(cors_origins=["http://localhost:5173/", "http://localhost:5173"]).cors_origins == [PAGE]


def test_any_origin_with_credentials_is_refused_in_prod() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(env="prod", cors_origins=["*"], jwt_private_key_file="k.pem", mail_backend="smtp")
    assert describe_errors(raised.value) == [
        "AUTHSPEC_CORS_ORIGINS: '*' is refused when AUTHSPEC_ENV=prod (cross-origin calls carry credentials); "
        "list the frontends' origins"
    ]


def test_serve_stops_with_one_line_naming_the_setting_for_a_bad_origin() -> None:
    env = {**clean_env(), "AUTHSPEC_CORS_ORIGINS": "http://localhost:5173/app"}
    done = subprocess.run(
        authspec_cli("serve", free_port()), env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "authspec serve: AUTHSPEC_CORS_ORIGINS: 'http://localhost:5173/app' must be an origin "
        "(scheme://host[:port]) without a path, query or fragment"
    ]


def test_the_service_answers_no_origin_by_default() -> None:
    with make_client() as client:
        answered = client.get(ME, headers={"Origin": PAGE, "Authorization": "Bearer good-ada"})
        asked = client.options(ME, headers=preflight())
    assert answered.status_code == 200
    assert "access-control-allow-origin" not in answered.headers
    assert "access-control-allow-origin" not in asked.headers


def test_a_preflight_from_a_listed_origin_answers_204_allowing_what_it_asks() -> None:
    with make_client(cors_origins=[PAGE + "/"]) as client:
        asked = client.options(ME, headers=preflight("POST", "authorization, content-type, x-request-id"))
    assert asked.status_code == 204
    assert asked.content == b""
    assert asked.headers["access-control-allow-origin"] == PAGE
    assert asked.headers["access-control-allow-credentials"] == "true"
    assert "POST" in asked.headers["access-control-allow-methods"].split(", ")
    assert asked.headers["access-control-allow-headers"] == "authorization, content-type, x-request-id"
    assert asked.headers["vary"] == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def test_a_preflight_from_another_origin_is_refused_with_the_envelope_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="authspec.cors"), make_client(cors_origins=[PAGE]) as client:
        asked = client.options(ME, headers=preflight(origin="http://evil.example"))
    assert asked.status_code == 403
    assert "access-control-allow-origin" not in asked.headers
    assert asked.headers["vary"] == "Origin"
    body = asked.json()
    assert body["errorCode"] == "forbidden"
    assert body["errors"] == [
        "Forbidden",
        "CORS preflight refused: origin 'http://evil.example' is not in AUTHSPEC_CORS_ORIGINS",
    ]
    assert [r.getMessage() for r in caplog.records] == [
        "CORS preflight refused: origin 'http://evil.example' is not in AUTHSPEC_CORS_ORIGINS"
    ]


def test_an_allowed_answer_exposes_the_headers_clients_read_by_name() -> None:
    with make_client(cors_origins=[PAGE]) as client:
        answered = client.get(ME, headers={"Origin": PAGE})
    assert answered.status_code == 401
    assert answered.headers["access-control-expose-headers"].split(", ") == list(EXPOSED_HEADERS)
    assert {"Retry-After", "WWW-Authenticate", "Preference-Applied"} <= set(EXPOSED_HEADERS)
    assert answered.headers["vary"] == "Origin"


def test_an_answer_to_another_origin_varies_on_origin_and_allows_nothing() -> None:
    with make_client(cors_origins=[PAGE]) as client:
        answered = client.get(ME, headers={"Origin": "http://evil.example", "Authorization": "Bearer good-ada"})
    assert answered.status_code == 200
    assert answered.headers["vary"] == "Origin"
    assert not [name for name in answered.headers if name.startswith("access-control-")]
