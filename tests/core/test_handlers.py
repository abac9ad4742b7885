"""Every operation resolves to its handler, or the app does not start; ``x-planned`` ones are
deliberately left without one (501 in the service); the mock's overrides wrap real handlers."""

from __future__ import annotations

import copy
import importlib
import inspect
import pkgutil
from typing import Any

import authspec.handlers.health
import authspec.mock.overrides
import pytest
from starlette.testclient import TestClient

from authspec.app import create_app
from authspec.cli import main
from authspec.resolver import HANDLERS, PLANNED, MissingHandler, snake_case
from authspec.settings import Settings
from authspec.spec import iter_operations, load_bundle
from tests.helpers import assert_error

EXPECTED = (
    "operationId getHealth (GET /healthz) has no handler: expected function get_health in "
    "authspec.handlers.health (or mark the operation x-planned: true to leave it without one)"
)


def _planned_spec() -> dict[str, Any]:
    spec = load_bundle()
    operation = copy.deepcopy(spec["paths"]["/auth/me"]["get"])
    operation.update(operationId="getCurrentUserAvatar", summary="The caller's avatar (not built yet)")
    operation[PLANNED] = True
    del operation["security"]  # answered without a token: the 501 is the planned mark's doing
    spec["paths"]["/auth/me/avatar"] = {"get": operation}
    return spec


def test_a_missing_handler_stops_the_app_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(authspec.handlers.health, "get_health")
    with pytest.raises(MissingHandler) as stopped:
        create_app(Settings(), handlers=HANDLERS)
    assert str(stopped.value) == EXPECTED


def test_a_missing_handler_stops_the_mock_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from authspec.mock.app import create_app as create_mock

    monkeypatch.delattr(authspec.handlers.health, "get_health")
    with pytest.raises(MissingHandler) as stopped:
        create_mock(Settings())
    assert str(stopped.value) == EXPECTED


@pytest.mark.parametrize("command", ["serve", "mock"])
def test_the_cli_refuses_to_start_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    import uvicorn

    def never(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("uvicorn was started")

    monkeypatch.setattr(uvicorn, "run", never)
    monkeypatch.setattr("authspec.storage.admin.serve_preflight", lambda _settings: None)
    monkeypatch.delattr(authspec.handlers.health, "get_health")
    assert main([command, "--port", "1"]) == 2
    assert capsys.readouterr().err == f"authspec {command}: {EXPECTED}\n"


def test_a_planned_operation_answers_501_in_the_service() -> None:
    with TestClient(create_app(Settings(), spec=_planned_spec()), raise_server_exceptions=False) as client:
        body = assert_error(client.get("/api/v1/auth/me/avatar"), 501, "not_implemented")
    assert "getCurrentUserAvatar" in body["errors"][1]


def test_every_mock_override_wraps_an_operation_of_its_tag() -> None:
    handlers = {(op["tags"][0], snake_case(op["operationId"])) for _path, _method, op in iter_operations(load_bundle())}
    found = []
    for module_info in pkgutil.iter_modules(authspec.mock.overrides.__path__):
        module = importlib.import_module(f"authspec.mock.overrides.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__:
                found.append((module_info.name, name))
    assert found, "no overrides found"
    assert [f for f in found if f not in handlers] == []
