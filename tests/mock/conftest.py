"""Fixtures of the mock's tests: one app per session, one namespace (an isolated world) per test,
and a contract check on every response a test client receives.

Connexion's response validation skips error handlers and overrides nothing it did not route, so
each response is held here to the document itself: the operation is found by method and path,
the body is validated against the declared response schema (the explicit status, else
``default``), and envelopes must be internally consistent.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from authspec.mock.app import create_app
from starlette.testclient import TestClient

from authspec.settings import Settings
from authspec.spec import (
    ADMIN_SPEC,
    Spec,
    base_path,
    inline_document,
    iter_operations,
    load_bundle,
    path_pattern,
    path_servers_root,
)
from contract_tests.checks import assert_envelope
from contract_tests.targets import response_validation

API = "/api/v1"
_namespaces = itertools.count()


@dataclass
class Route:
    pattern: re.Pattern[str]
    method: str
    operation: dict[str, Any]
    enveloped: bool


class Contract:
    """The documented operations of the API and the control API, by method and path."""

    def __init__(self, api: Spec, admin: Spec) -> None:
        self.routes: list[Route] = []
        self._validators: dict[int, Any] = {}
        api, admin = inline_document(api), inline_document(admin)  # schemas that validate on their own
        for spec, prefix in ((api, base_path(api)), (admin, "/__mock")):
            for path, method, operation in iter_operations(spec):
                at_root = path_servers_root(spec["paths"][path])
                full = ("" if at_root else prefix) + path
                self.routes.append(Route(path_pattern(full), method.upper(), operation, not at_root))
        self.error_schema = self.find("GET", f"{API}/auth/sessions").operation["responses"]["401"]["content"][
            "application/json"
        ]["schema"]

    def find(self, method: str, path: str) -> Route:
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route
        raise LookupError(f"{method} {path} is not documented")

    def validate(self, schema: dict[str, Any], value: Any) -> list[str]:
        from openapi_schema_validator import OAS30Validator, oas30_format_checker

        from authspec.patterns import with_ecma_patterns

        validator = self._validators.get(id(schema))
        if validator is None:
            validator = self._validators[id(schema)] = with_ecma_patterns(OAS30Validator)(
                schema, format_checker=oas30_format_checker
            )
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]

    def check(self, response: httpx.Response) -> None:
        """Fail unless ``response`` is what the contract allows for its request."""
        request = response.request
        path = request.url.path
        status = response.status_code
        if status == 204 or request.method == "OPTIONS" or path.endswith(("/openapi.json", "/docs/")):
            return
        if status == 307 and "location" in response.headers:
            return  # a redirect to the docs (/, /docs, /__mock): not an operation of either document
        media = response.headers["content-type"].split(";")[0]
        if media == "text/plain":  # GET /metrics' Prometheus text: a declared media type, a string schema
            declared = self.find(request.method, path).operation["responses"][str(status)]["content"]
            assert response.headers["content-type"] in declared, (path, response.headers)
            return
        assert media == "application/json", (path, response.headers)
        body = response.json()
        try:
            route: Route | None = self.find(request.method, path)
        except LookupError:
            route = None  # 404 / 405: an error envelope from the renderer
        if route is None:
            assert status in (404, 405), (request.method, path, status)
            schema, headers = self.error_schema, {}
        else:
            responses = route.operation["responses"]
            declared = responses.get(str(status)) or responses.get("default")
            assert declared is not None, f"{route.operation['operationId']} does not declare {status}"
            schema = declared["content"]["application/json"]["schema"]
            headers = declared.get("headers") or {}
        problems = self.validate(schema, body)
        assert not problems, (request.method, path, status, problems, body)
        for name, header in headers.items():
            if name in ("WWW-Authenticate", "Retry-After") or header.get("required"):
                assert name.lower() in response.headers, (path, status, name)
        if status == 401 and "WWW-Authenticate" not in headers:
            assert "www-authenticate" not in response.headers, (path, status, "an undeclared WWW-Authenticate")
        if route is None or route.enveloped:
            assert_envelope(body, status)


@pytest.fixture(scope="session")
def contract() -> Contract:
    return Contract(load_bundle(), load_bundle(ADMIN_SPEC))


def checked_client(app: Any, contract: Contract, namespace: str | None = None, **kwargs: Any) -> TestClient:
    """A test client whose every response is held to the contract; in its own namespace."""
    headers = {"X-Mock-Namespace": namespace} if namespace else {}
    client = TestClient(app, raise_server_exceptions=False, headers=headers, **kwargs)

    def hook(response: httpx.Response) -> None:
        response.read()
        contract.check(response)

    client.event_hooks = {"request": [], "response": [hook]}
    return client


@pytest.fixture(scope="session")
def mock_app() -> Any:
    # The mock does not validate its responses by default; every test of it does.
    return create_app(Settings(**response_validation()), spec=load_bundle())


@pytest.fixture(scope="session")
def session_client(mock_app: Any, contract: Contract) -> Iterator[TestClient]:
    with checked_client(mock_app, contract) as client:
        yield client


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    return f"t{next(_namespaces)}-{request.node.name[:40]}".replace("[", "-").replace("]", "")[:64]


@pytest.fixture
def client(session_client: TestClient, namespace: str) -> TestClient:
    """The session's client, in a namespace of its own: a fresh world for every test."""
    session_client.headers["X-Mock-Namespace"] = re.sub(r"[^A-Za-z0-9_.-]", "-", namespace)
    return session_client


@pytest.fixture
def make_client(contract: Contract) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps built with other settings, closed after the test."""
    opened: list[TestClient] = []

    def make(settings: Settings | None = None, **kwargs: Any) -> TestClient:
        kwargs.setdefault("spec", load_bundle())  # not the on-disk bundle cache of the CLI path
        client = checked_client(create_app(settings or Settings(**response_validation()), **kwargs), contract)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)
