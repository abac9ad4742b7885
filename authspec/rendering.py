"""Rendering every failure as the envelope: Connexion's problems, Starlette's HTTP errors,
undecodable bodies, our own ``AuthspecError`` tree and anything unexpected.

Also here: ``RouteTable`` (the methods each documented path accepts, for a correct ``Allow``
header on 405 — Connexion lists only the first route's) and ``RequestBodyMiddleware`` (413 for
bodies over the configured size, counted as they stream in, not only by ``Content-Length``; and
the framing Connexion needs: a ``Content-Length`` for chunked bodies, a JSON ``Content-Type`` for
bodies sent without one).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.clock import Clock
from authspec.envelope import dumps, from_error
from authspec.errors import (
    AuthspecError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    error_for_status,
    generic_message,
)
from authspec.spec import HTTP_METHODS, Spec, path_pattern

log = logging.getLogger("authspec.errors")

_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class RouteTable:
    """The documented paths of every API an app serves, with the methods each accepts."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], set[str]]] = []

    def add(self, prefix: str, spec: Spec) -> None:
        for template, item in spec.get("paths", {}).items():
            methods = {m.upper() for m in HTTP_METHODS if m in item}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
            self._routes.append((path_pattern(prefix.rstrip("/") + template, trailing_slash=True), methods))

    def add_route(self, path: str, methods: set[str]) -> None:
        """A route outside the documents (a redirect), answering ``methods`` at exactly ``path``."""
        self._routes.append((re.compile(re.escape(path) + r"\Z"), set(methods)))

    def allowed(self, path: str) -> list[str]:
        """The methods documented for ``path`` (empty when no documented path matches)."""
        found: set[str] = set()
        for pattern, methods in self._routes:
            if pattern.match(path):
                found |= methods
        return sorted(found)


def _problem_error(exc: ProblemException) -> AuthspecError:
    """Translate one of Connexion's problems into our tree, keeping safe details only."""
    status = int(exc.status or 500)
    detail = str(exc.detail) if exc.detail else None
    if status == 400:
        if isinstance(exc.__context__, json.JSONDecodeError):
            return BadRequest("The request body is not valid JSON", code="malformed_request")
        return BadRequest(detail)
    if status == 401:
        if detail == "No authorization token provided":
            return Unauthorized("No bearer token was sent")
        return Unauthorized("The access token is not valid", code="invalid_token")
    if status == 415:
        return UnsupportedMediaType(detail or "Send the body as application/json")
    if status >= 500:
        # Never echo a server-side problem: a NonConformingResponse detail describes our schema.
        log.error("server error %s from Connexion: %s", status, detail)
        cls = error_for_status(status)
        return cls(None)
    return error_for_status(status)(detail)


class ErrorRenderer:
    """The app's one error renderer; ``install`` registers it for every exception type."""

    def __init__(self, clock: Clock, routes: RouteTable) -> None:
        self.clock = clock
        self.routes = routes

    def install(self, app: Any) -> None:
        app.add_error_handler(AuthspecError, self.authspec_error)
        app.add_error_handler(ProblemException, self.problem)
        app.add_error_handler(HTTPException, self.http_exception)
        app.add_error_handler(UnicodeDecodeError, self.undecodable)
        app.add_error_handler(Exception, self.unexpected)

    def render(self, error: AuthspecError) -> ConnexionResponse:
        return ConnexionResponse(
            status_code=error.status,
            body=dumps(from_error(error, self.clock.now())),
            content_type="application/json",
            headers=error.headers,
        )

    async def authspec_error(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, AuthspecError)
        if exc.status == 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return self.render(exc)

    async def problem(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, ProblemException)
        return self.render(_problem_error(exc))

    async def http_exception(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error: AuthspecError = NotFound(f"No route matches {request.method} {request.url.path}")
        elif exc.status_code == 405:
            allowed = self.routes.allowed(request.url.path)
            error = MethodNotAllowed(
                f"{request.method} is not allowed here; use {', '.join(allowed) or 'another route'}",
                headers={"Allow": ", ".join(allowed)},
            )
        else:
            error = error_for_status(exc.status_code)(
                exc.detail if exc.status_code < 500 and exc.detail != generic_message(exc.status_code) else None
            )
        return self.render(error)

    async def undecodable(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        # connexion#1860: a body that is not UTF-8 escapes the JSON validator as a 500.
        return self.render(BadRequest("The request body is not valid UTF-8 JSON", code="malformed_request"))

    async def unexpected(self, request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        log.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
        return self.render(InternalError(None))


class RequestBodyMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, whether announced or streamed, and frame
    the others the way Connexion expects.

    Connexion reads a body only when ``Content-Length`` announces one, so a chunked body would be
    taken as missing (a wrong 400, or silently ignored). Chunked bodies are therefore buffered here,
    up to the limit, and passed on with their ``Content-Length``. A body sent without
    ``Content-Type`` is validated by Connexion as JSON (every operation's one media type) but then
    handed to the handler as raw bytes (an empty one as ``b""`` instead of the schema's default);
    requests that may carry a body are labelled ``application/json`` when they name no type, so
    handlers always receive the parsed body or its default, once for the service and the mock.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if b"content-type" not in headers and scope["method"] not in _BODILESS:
            scope = {**scope, "headers": [*scope["headers"], (b"content-type", b"application/json")]}
        if b"content-length" in headers:
            try:
                announced = int(headers[b"content-length"])
            except ValueError:
                raise BadRequest("Content-Length is not a number", code="malformed_request") from None
            if announced > self.max_bytes:
                raise self._too_large()
            await self.app(scope, self._counting(receive), send)
        elif b"transfer-encoding" in headers:
            scope, receive = await self._buffered(scope, receive)
            await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        return counting_receive

    async def _buffered(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        kept = [(k, v) for k, v in scope["headers"] if k != b"transfer-encoding"]
        scope = {**scope, "headers": [*kept, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return scope, replay

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds {self.max_bytes} bytes")


__all__ = ["ErrorRenderer", "RequestBodyMiddleware", "RouteTable"]
