"""The mock's request pipeline: world selection and request log, ``Prefer``, scenarios.

Three ASGI middlewares around Connexion's stack, so that they act on every operation alike,
stateful or answered from the contract by the fallback:

- ``EntryMiddleware`` (outermost, before the exception layer) picks the world named by
  ``X-Mock-Namespace`` and records each API request with its final status in that world's log.
- ``GateMiddleware`` (inside the error renderer and CORS) refuses a bad namespace or ``Prefer``
  value with a 400 envelope, sleeps ``Prefer: delay`` and reports ``Preference-Applied``.
- ``OverrideMiddleware`` (after routing, the bearer check and request validation, inside response
  validation) answers a queued scenario or ``Prefer: code/example/dynamic`` from the contract
  instead of the world. A request that fails validation or authentication therefore gets the
  real 400/401, and an override is only spent on a request that reached its operation.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.envelope import dumps
from authspec.errors import BadRequest
from authspec.jsonbody import decode

from .context import MockApp, MockRequest, current_request, enter, leave
from .namespaces import DEFAULT_NAMESPACE, NAMESPACE_PATTERN
from .prefer import parse_prefer
from .responder import Canned, ResponseChoiceError

ROUTING = "connexion_routing"
#: Error envelopes are small; a body past this is not read for its errorCode.
MAX_ERROR_BODY = 65_536


def _error_code(body: bytes | bytearray) -> str | None:
    """The ``errorCode`` of an error envelope (None for a success, or a body that is not one)."""
    if not body:
        return None
    try:
        document = decode(bytes(body))
    except ValueError:
        return None
    code = document.get("errorCode") if isinstance(document, dict) else None
    return code if isinstance(code, str) else None


class EntryMiddleware:
    """Select the namespace's world for the request and log the request when it is answered."""

    def __init__(self, app: ASGIApp, mock: MockApp, control_prefix: str, quiet_paths: tuple[str, ...]) -> None:
        self.app = app
        self.mock = mock
        self.control_prefix = control_prefix
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        name = headers.get("x-mock-namespace", DEFAULT_NAMESPACE)
        world = self.mock.worlds.get(name) if NAMESPACE_PATTERN.match(name) else None
        path: str = scope["path"]
        control = path == self.control_prefix or path.startswith(self.control_prefix + "/")
        preflight = scope["method"] == "OPTIONS" and "access-control-request-method" in headers
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
        status = 500
        error_body = bytearray()  # an error's envelope, for the errorCode of the log entry

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and status >= 400 and len(error_body) < MAX_ERROR_BODY:
                error_body.extend(message.get("body", b""))
            await send(message)

        token = enter(request)
        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            if logged and world is not None:
                routing = extensions.get(ROUTING) or {}
                world.log(
                    scope["method"], path, routing.get("operation_id"), status, request.now(), _error_code(error_body)
                )
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
