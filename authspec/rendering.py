"""Rendering every failure as the envelope: Connexion's problems, Starlette's HTTP errors,
undecodable bodies, our own ``AuthspecError`` tree and anything unexpected.

The ``Allow`` header of a 405 comes from ``authspec.routes.RouteTable``; oversized and chunked
bodies are handled before Connexion by ``authspec.framing.RequestBodyMiddleware``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from authspec.clock import Clock
from authspec.envelope import dumps, from_error
from authspec.errors import (
    AuthspecError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
    error_for_status,
    generic_message,
)
from authspec.routes import RouteTable

log = logging.getLogger("authspec.errors")


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


__all__ = ["ErrorRenderer"]
