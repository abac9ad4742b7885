"""A team's own API as the README builds it: a tiny Starlette app behind ``VerifyMiddleware``, for
``uvicorn --factory tests.verify.resource_server:create_app``. Its settings come from ``VERIFY_TEST_*``
variables (authspec's root URL, issuer, audience, the client, the bound, fail-open, follow the feed). ``GET /orders``
needs a token and answers its claims; ``/healthz`` and ``/stats`` (the verifier's counters) do not.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authspec.verify import Verifier, VerifyMiddleware


def create_app() -> Starlette:
    env = os.environ
    verifier = Verifier(
        env["VERIFY_TEST_BASE_URL"],
        issuer=env.get("VERIFY_TEST_ISSUER", "authspec"),
        audience=env.get("VERIFY_TEST_AUDIENCE", "authspec-api"),
        client_id=env["VERIFY_TEST_CLIENT_ID"],
        client_secret=env["VERIFY_TEST_CLIENT_SECRET"],
        max_staleness=float(env.get("VERIFY_TEST_MAX_STALENESS", "5")),
        fail_open=env.get("VERIFY_TEST_FAIL_OPEN") == "1",
        timeout=1.0,
        follow_feed=env.get("VERIFY_TEST_FOLLOW_FEED", "1") == "1",
    )

    async def orders(request: Request) -> JSONResponse:
        claims = request.state.auth
        return JSONResponse({"user": claims.sub, "session": claims.sid})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"introspections": verifier.introspections, "jwksFetches": verifier.jwks_fetches,
                             "feedFresh": verifier.feed_fresh, "denied": len(verifier.denied)})  # fmt: skip

    app = Starlette(routes=[Route("/orders", orders), Route("/healthz", health), Route("/stats", stats)])
    app.add_middleware(VerifyMiddleware, verifier=verifier, public_paths=["/healthz", "/stats"])
    return app
