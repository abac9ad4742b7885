"""The servers each app serves: itself first, Production only from AUTHSPEC_PUBLIC_URL, never a placeholder."""

from __future__ import annotations

from typing import Any

import pytest
from authspec.mock.app import create_app as create_mock
from pydantic import ValidationError
from starlette.testclient import TestClient

from authspec.servers import DEVELOPMENT, PRODUCTION, THIS_CONTROL_API, THIS_MOCK, THIS_SERVICE, request_origin
from authspec.settings import Settings, describe_errors
from authspec.spec import load_bundle
from tests.core.conftest import make_client

SPEC = "/api/v1/openapi.json"


def servers(client: TestClient, host: str | None = None, path: str = SPEC) -> list[tuple[str, str]]:
    headers = {"Host": host} if host else {}
    document: dict[str, Any] = client.get(path, headers=headers).json()
    return [(s["url"], s["description"]) for s in document["servers"]]


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return load_bundle()


def mock_client(bundle: dict[str, Any], **settings: Any) -> TestClient:
    return TestClient(create_mock(Settings(**settings), spec=bundle))


def test_the_mock_lists_itself_first_at_the_origin_that_asked(bundle: dict[str, Any]) -> None:
    with mock_client(bundle) as client:
        assert servers(client, "localhost:24010") == [("http://localhost:24010/api/v1", THIS_MOCK)]
        assert servers(client, "127.0.0.1:4010") == [("http://127.0.0.1:4010/api/v1", THIS_MOCK)]


def test_the_mock_lists_development_and_production_only_when_configured(bundle: dict[str, Any]) -> None:
    with mock_client(bundle, public_url="https://auth.acme.test/", mock_url="http://mock.acme.test:4010") as client:
        assert servers(client, "localhost:4010") == [
            ("http://localhost:4010/api/v1", THIS_MOCK),
            ("http://mock.acme.test:4010/api/v1", DEVELOPMENT),
            ("https://auth.acme.test/api/v1", PRODUCTION),
        ]


def test_the_mock_control_api_is_served_at_the_origin_that_asked(bundle: dict[str, Any]) -> None:
    with mock_client(bundle) as client:
        assert servers(client, "localhost:24010", "/__mock/openapi.json") == [
            ("http://localhost:24010/__mock", THIS_CONTROL_API)
        ]


def test_the_service_lists_the_origin_that_asked_without_a_public_url() -> None:
    with make_client() as client:
        assert servers(client, "10.0.0.7:8080") == [("http://10.0.0.7:8080/api/v1", THIS_SERVICE)]


def test_the_service_lists_its_public_url_first_then_the_instance_then_the_mock() -> None:
    with make_client(public_url="https://auth.acme.test/api/v1", mock_url="http://127.0.0.1:4010/") as client:
        assert servers(client, "10.0.0.7:8080") == [
            ("https://auth.acme.test/api/v1", PRODUCTION),
            ("http://10.0.0.7:8080/api/v1", THIS_SERVICE),
            ("http://127.0.0.1:4010/api/v1", DEVELOPMENT),
        ]


def test_no_served_document_names_a_placeholder_host(bundle: dict[str, Any]) -> None:
    with make_client() as service, mock_client(bundle) as mock:
        for client in (service, mock):
            listed = servers(client, "localhost:4010")
            assert [url for url, _ in listed if "example.com" in url or "{" in url] == []
            assert [description for _, description in listed if "Production" in description] == []


def test_site_root_path_items_stay_relative_in_the_served_document() -> None:
    with make_client() as client:
        document = client.get(SPEC).json()
    assert document["paths"]["/.well-known/jwks.json"]["servers"][0]["url"] == "/"


@pytest.mark.parametrize(
    ("scheme", "host", "origin"),
    [
        ("http", "localhost:4010", "http://localhost:4010"),
        ("https", "Auth.Acme.Test", "https://auth.acme.test"),
        ("http", "[::1]:8080", "http://[::1]:8080"),
        ("http", "evil.test/path", None),
        ("http", "a b", None),
        ("http", "", None),
        ("ws", "localhost", None),
    ],
)
def test_the_origin_that_asked_is_taken_only_from_a_plain_host_header(
    scheme: str, host: str, origin: str | None
) -> None:
    assert request_origin(scheme, host) == origin


def test_a_host_header_that_is_not_plain_gets_the_relative_base_path() -> None:
    with make_client() as client:
        assert servers(client, "evil.test/x?") == [("/api/v1", THIS_SERVICE)]


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("public_url", "auth.acme.test", "AUTHSPEC_PUBLIC_URL: 'auth.acme.test' must be an http:// or https:// URL"),
        ("mock_url", "http://m.test/?x=1", "AUTHSPEC_MOCK_URL: 'http://m.test/?x=1' must not have a query or fragment"),
    ],
)
def test_a_bad_base_url_is_refused_in_one_line_naming_the_setting(name: str, value: str, line: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(**{name: value})
    assert describe_errors(raised.value) == [line]
