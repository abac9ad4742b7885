"""App factories the benchmark serves (``uvicorn --factory bench.factories:NAME``).

``service`` and ``mock`` are the shipped apps; ``service_stock`` and ``mock_stock`` are the same
apps on stock Connexion (``create_app(fast=False)``: the "before" of ``authspec.fastpath``);
``ceiling`` is the bare-Starlette app of ``bench.ceiling`` and ``limit`` the bare-ASGI limit
reference of ``bench.limit``. Settings come from ``AUTHSPEC_*``.
"""

from __future__ import annotations

import functools
from typing import Any

import authspec.app


def service() -> Any:
    from authspec.handlers.app import create_app

    return create_app()


def mock() -> Any:
    from authspec.mock.app import create_app

    return create_app()


def service_stock() -> Any:
    import authspec.handlers.app as service_app

    service_app.create_contract_app = functools.partial(authspec.app.create_app, fast=False)  # type: ignore[attr-defined]
    return service_app.create_app()


def mock_stock() -> Any:
    import authspec.mock.app as mock_app

    mock_app.create_contract_app = functools.partial(authspec.app.create_app, fast=False)  # type: ignore[attr-defined]
    return mock_app.create_app()


def ceiling() -> Any:
    from bench.ceiling import create_app

    return create_app()


def limit() -> Any:
    from bench.limit import create_app

    return create_app()
