"""App factories the benchmark serves (``uvicorn --factory bench.factories:NAME``).

``service`` and ``mock`` are the shipped apps; ``service_stock`` and ``mock_stock`` are the same
apps on stock Connexion (``create_app(fast=False)``: the "before" of ``authspec.fastpath``);
``ceiling`` is the bare-Starlette app of ``bench.ceiling``, ``limit`` the bare-ASGI limit
reference of ``bench.limit`` and ``protected`` a team's API verifying tokens with
``authspec.verify``. Settings come from ``AUTHSPEC_*``.
"""

from __future__ import annotations

import functools
from typing import Any

import authspec.app

#: The resource server the bench configures on the service (``AUTHSPEC_INTROSPECTION_CLIENTS``).
BENCH_CLIENT_ID, BENCH_CLIENT_SECRET = "bench", "bench-secret"


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


def protected() -> Any:
    """A team's own API as the README builds it: Starlette behind ``authspec.verify``'s middleware,
    verifying tokens locally against the service at ``BENCH_VERIFY_URL`` (its JWKS and revocation
    feed, as the bench's resource-server client); ``GET /protected`` answers the token's claims."""
    import os

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from authspec.verify import Verifier, VerifyMiddleware

    verifier = Verifier(
        os.environ["BENCH_VERIFY_URL"],
        issuer="authspec",
        audience="authspec-api",
        client_id=BENCH_CLIENT_ID,
        client_secret=BENCH_CLIENT_SECRET,
    )

    async def claims(request: Request) -> JSONResponse:
        auth = request.state.auth
        return JSONResponse({"sub": auth.sub, "sid": auth.sid})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/protected", claims), Route("/healthz", health)])
    app.add_middleware(VerifyMiddleware, verifier=verifier, public_paths=["/healthz"])
    return app
