"""The mock's request pipeline: world selection and request log, ``Prefer``, scenarios.

Around Connexion's stack, so that they act on every operation alike, stateful or answered from
the contract by the fallback:

- ``EntryObserver`` (in the outermost layer, the request log, before the exception layer) picks the
  world named by ``X-Mock-Namespace`` and records each API request with its final status and
  ``errorCode`` in that world's log, from the request log's own watch of the answer.
- ``GateMiddleware`` (inside the error renderer and CORS) refuses a bad namespace or ``Prefer``
  value with a 400 envelope, sleeps ``Prefer: delay`` and reports ``Preference-Applied``.
- ``OverrideMiddleware`` (after routing, the bearer check and request validation, inside response
  validation) answers a queued scenario or ``Prefer: code/example/dynamic`` from the contract
  instead of the world. A request that fails validation or authentication therefore gets the
  real 400/401, and an override is only spent on a request that reached its operation.
"""

from __future__ import annotations

import asyncio
from contextvars import Token
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.envelope import dumps
from authspec.errors import BadRequest

from .context import MockApp, MockRequest, current_request, enter, leave
from .namespaces import DEFAULT_NAMESPACE, NAMESPACE_PATTERN
from .prefer import parse_prefer
from .responder import Canned, ResponseChoiceError

ROUTING = "connexion_routing"


class EntryObserver:
    """Select the namespace's world for the request and log the request when it is answered.

    Not a layer of its own: the outermost layer, the request log (``authspec.requestlog``), calls
    ``enter`` and ``leave`` from its own watch of the response."""

    def __init__(self, mock: MockApp, control_prefix: str, quiet_paths: tuple[str, ...]) -> None:
        self.mock = mock
        self.control_prefix = control_prefix
        self.quiet_paths = quiet_paths

    def enter(self, scope: Scope) -> tuple[MockRequest, bool, dict[str, Any], Token[MockRequest | None]]:
        name = DEFAULT_NAMESPACE
        preflight = False
        if scope["method"] == "OPTIONS":
            preflight = any(key == b"access-control-request-method" for key, _value in scope["headers"])
        for key, value in scope["headers"]:
            if key == b"x-mock-namespace":
                name = value.decode("latin-1")
                break
        world = self.mock.worlds.get(name) if NAMESPACE_PATTERN.match(name) else None
        path: str = scope["path"]
        control = path == self.control_prefix or path.startswith(self.control_prefix + "/")
        quiet = path == "/" or any(q in path for q in self.quiet_paths)  # "/" redirects to the docs
        logged = world is not None and not control and not preflight and not quiet
        request = MockRequest(app=self.mock, namespace=name, world=world, control=control)
        if world is not None and not control:
            request.at = world.clock.now()
            # The service's handlers, which the mock runs, find their services here, as in the service.
            scope["state"] = {**scope.get("state", {}), "services": world.services}
        # Connexion's router records the operation on a shallow copy of the scope: a dict that is
        # already here is shared with that copy, so the operationId can be read afterwards.
        extensions = scope.setdefault("extensions", {})
        return request, logged, extensions, enter(request)

    def leave(
        self,
        entered: tuple[MockRequest, bool, dict[str, Any], Token[MockRequest | None]],
        scope: Scope,
        status: int | None,
        error_code: str | None,
    ) -> None:
        request, logged, extensions, token = entered
        try:
            if logged and request.world is not None:
                operation_id = (extensions.get(ROUTING) or {}).get("operation_id")
                at = request.now()
                request.world.log(scope["method"], scope["path"], operation_id, status or 500, at, error_code)
        finally:
            leave(token)


class GateMiddleware:
    """400 for a bad namespace or ``Prefer``; ``Prefer: delay``; the ``Preference-Applied`` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mock = current_request()
        if mock.world is None:
            raise BadRequest(
                f"X-Mock-Namespace must be 1 to 64 letters, digits, '.', '_' or '-' (got {mock.namespace[:80]!r})"
            )
        if mock.control:
            await self.app(scope, receive, send)
            return
        mock.prefer = parse_prefer(Headers(scope=scope).getlist("prefer"))
        if mock.prefer.delay_ms:
            await asyncio.sleep(mock.prefer.delay_ms / 1000)

        async def send_with_applied(message: Message) -> None:
            if message["type"] == "http.response.start":
                prefer = mock.prefer
                applied = (
                    prefer.applied() if mock.overridden else (f"delay={prefer.delay_ms}" if prefer.delay_ms else "")
                )
                if applied:
                    message = {
                        **message,
                        "headers": [*message.get("headers", []), (b"preference-applied", applied.encode())],
                    }
            await send(message)

        await self.app(scope, receive, send_with_applied)


class OverrideMiddleware:
    """Answer a queued scenario or ``Prefer: code/example/dynamic`` from the contract."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mock = current_request()
        routing = (scope.get("extensions") or {}).get(ROUTING) or {}
        operation = mock.app.operations.get(str(routing.get("operation_id")))
        if mock.control or mock.world is None or operation is None:
            await self.app(scope, receive, send)
            return
        world = mock.world
        scenario = world.take_scenario(operation["operationId"])
        try:
            if scenario is not None:
                canned = mock.app.responder.answer(operation, mock.now(), status=scenario.status)
            elif mock.prefer.overrides:
                prefer = mock.prefer
                canned = mock.app.responder.answer(
                    operation, mock.now(), status=prefer.code, example=prefer.example, dynamic=prefer.dynamic
                )
                mock.overridden = True
            else:
                await self.app(scope, receive, send)
                return
        except ResponseChoiceError as exc:
            raise BadRequest(str(exc)) from None
        await send_canned(send, canned)


async def send_canned(send: Send, canned: Canned) -> None:
    """Send a contract answer as an ASGI response."""
    if canned.body is None:
        body = b""
    elif isinstance(canned.body, str) and "content-type" in {k.lower() for k in canned.headers}:
        body = canned.body.encode()  # a non-JSON media type's example, served as written
    else:
        body = dumps(canned.body)
    headers = {name.lower(): value for name, value in canned.headers.items()}
    if canned.body is not None:
        headers.setdefault("content-type", "application/json")
    headers["content-length"] = str(len(body))
    await send(
        {
            "type": "http.response.start",
            "status": canned.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})
