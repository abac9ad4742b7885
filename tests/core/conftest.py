"""Fixtures of the core tests: apps built from the contract with test handlers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authspec.app import create_app, service_cors
from authspec.errors import Unauthorized
from authspec.settings import Settings
from authspec.spec import iter_operations, load_bundle

FAKE_HANDLERS = "tests.core.fake_handlers"
#: The fake root implements only what the core tests need; every other operation is allowed to
#: lack a handler and answers 501 ``not_implemented``, as an ``x-planned`` one does.
ANY_OPERATION = frozenset(op["operationId"] for _path, _method, op in iter_operations(load_bundle()))


async def accept_named_tokens(token: str, request: Any) -> dict[str, Any]:
    """Test verifier: ``good-<name>`` is a token of user ``<name>``."""
    if not token.startswith("good-"):
        raise Unauthorized("The access token is not valid", code="invalid_token")
    return {"sub": token.removeprefix("good-"), "sid": "s1"}


def make_client(*, fast: bool = True, **settings: Any) -> TestClient:
    config = Settings(**settings)
    app = create_app(
        config,
        handlers=FAKE_HANDLERS,
        planned=ANY_OPERATION,
        bearer=accept_named_tokens,
        cors=service_cors(config),
        fast=fast,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(params=["fast", "stock"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    """An app on the fast path and the same on stock Connexion: every error test runs on both."""
    with make_client(fast=request.param == "fast") as test_client:
        yield test_client
