"""``VerifyMiddleware``: a raw ASGI middleware putting a ``Verifier`` in front of a Starlette or FastAPI app.

``app.add_middleware(VerifyMiddleware, verifier=verifier)`` (Starlette and FastAPI alike). Every
HTTP request except ``public_paths`` must carry ``Authorization: Bearer <access token>``; a valid
one puts its ``Claims`` in ``scope["state"]["auth"]`` (``request.state.auth``). The refusals are
authspec's own error envelope, so a client of authspec handles them the same way:

- 401 with the errorCode authspec's own endpoints give: ``authentication_required`` (no token,
  ``WWW-Authenticate: Bearer``), ``invalid_token`` (malformed, wrong signature/issuer/audience),
  ``token_expired`` (refresh and retry) or ``session_ended`` (revoked: sign in again), the last
  three with ``WWW-Authenticate: Bearer error="invalid_token"``;
- 503 ``service_unavailable`` with ``Retry-After: 1`` when the token's revocation state is unknown
  for longer than ``max_staleness`` (fail closed; the token itself may well be fine).

The verifier starts on the app's lifespan startup (its ``ConfigurationError`` fails the startup
with its one line) and stops on shutdown; without a lifespan it starts on the first request.
``auth_dependency(verifier)`` gives FastAPI a dependency returning the ``Claims``. The ASGI types
are written here, so the middleware needs no Starlette import.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from datetime import UTC, datetime
from typing import Any

from .tokens import Claims, TokenRejected
from .verifier import ConfigurationError, Unavailable, Verifier

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The key of ``scope["state"]`` (so ``request.state.auth``) holding the verified ``Claims``.
STATE_KEY = "auth"


def bearer_token(scope: Scope) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header, or None."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


#: ``errors[0]`` of authspec's envelope: the generic message of the status; the detail follows it.
GENERIC = {401: "Authentication required", 503: "Service unavailable"}


def error_body(status: int, code: str, message: str) -> bytes:
    """authspec's error envelope (``{isSuccess, statusCode, data, errors, errorCode, timestamp}``)."""
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    errors = [GENERIC[status], message] if message != GENERIC[status] else [message]
    envelope = {"isSuccess": False, "statusCode": status, "data": None, "errors": errors, "errorCode": code,
                "timestamp": now}  # fmt: skip
    return json.dumps(envelope, separators=(",", ":")).encode()


class VerifyMiddleware:
    """Refuse requests without a valid, unrevoked authspec access token (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, verifier: Verifier, public_paths: Collection[str] = ()) -> None:
        self.app = app
        self.verifier = verifier
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(scope, receive, send)
            return
        if scope["type"] not in ("http", "websocket") or scope.get("path") in self.public_paths:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        try:
            if token is None:
                raise TokenRejected("An access token is required", code="authentication_required")
            claims = await self.verifier.verify(token)
        except TokenRejected as refused:
            await _refuse(scope, receive, send, 401, refused.code, str(refused))
            return
        except Unavailable:
            await _refuse(scope, receive, send, 503, "service_unavailable", "The token's revocation state is unknown")
            return
        scope.setdefault("state", {})[STATE_KEY] = claims
        await self.app(scope, receive, send)

    async def _serve_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        startup = await receive()
        try:
            await self.verifier.start()
        except ConfigurationError as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        replayed = False

        async def receive_again() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return startup
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.verifier.stop()
            return message

        try:
            await self.app(scope, receive_again, send)
        finally:
            await self.verifier.stop()


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
    if status == 401:
        challenge = b"Bearer" if code == "authentication_required" else b'Bearer error="invalid_token"'
        headers.append((b"www-authenticate", challenge))
    else:
        headers.append((b"retry-after", b"1"))
    body = error_body(status, code, message)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def auth_dependency(verifier: Verifier) -> Callable[..., Awaitable[Claims]]:
    """A FastAPI dependency giving the request's ``Claims``: ``Depends(auth_dependency(verifier))``.

    Behind ``VerifyMiddleware`` it returns what the middleware verified; without it, it verifies
    the bearer token itself and raises Starlette's ``HTTPException`` (401, or 503 when unavailable),
    which FastAPI renders.
    """
    # FastAPI apps have Starlette (and FastAPI answers Starlette's HTTPException): imported only when asked for.
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    async def claims(request: Request) -> Claims:
        found = request.scope.get("state", {}).get(STATE_KEY)
        if isinstance(found, Claims):
            return found
        token = bearer_token(request.scope)
        try:
            if token is None:
                raise TokenRejected("An access token is required", code="authentication_required")
            return await verifier.verify(token)
        except TokenRejected as refused:
            challenge = "Bearer" if refused.code == "authentication_required" else 'Bearer error="invalid_token"'
            raise HTTPException(401, str(refused), {"WWW-Authenticate": challenge}) from None
        except Unavailable:
            raise HTTPException(503, "Service unavailable", {"Retry-After": "1"}) from None

    claims.__annotations__["request"] = Request
    return claims
