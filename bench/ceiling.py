"""The ceiling: the benchmarked operations on bare Starlette, doing the service's work without Connexion.

Same settings, storage, services, keyring and envelope as ``handlers.app``; the request body is
checked against the contract's schema and, when ``VALIDATE_RESPONSES`` is on (the default), the
response against its schema, both with a compiled (jsonschema-rs) validator: what remains between
this app and the service is Connexion itself. Errors leave as the envelope, as in the service.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema_rs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authspec.clock import SystemClock
from authspec.envelope import dumps, from_error, success
from authspec.errors import AuthspecError, BadRequest, Unauthorized
from authspec.fastpath import compile_schema
from authspec.mail import build_mailer
from authspec.services import build_services
from authspec.services.results import Principal, user_data
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings
from authspec.spec import API_SPEC, load_bundle
from authspec.storage import Storage
from authspec.storage.keyfile import load_keyring, persist_keyring
from authspec.storage.secretfile import load_secret, persist_secret

API = "/api/v1"


def _schema(spec: dict[str, Any], operation: dict[str, Any], *where: str) -> Any:
    node: Any = operation
    for key in where:
        node = node[key]
    compiled = compile_schema({**node, "components": spec.get("components") or {}})
    assert isinstance(compiled, jsonschema_rs.Validator)
    return compiled


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    clock = SystemClock()
    storage = Storage.open(settings)
    services = build_services(
        repo=storage.repository,
        limiter=storage.limiter,
        mailer=build_mailer(settings),
        keyring=persist_keyring(settings, load_keyring(settings)),
        secrets=ServiceSecrets.from_secret(persist_secret(settings, load_secret(settings))),
        clock=clock,
        settings=settings,
    )
    spec = load_bundle(API_SPEC)
    refresh_op = spec["paths"]["/auth/refresh"]["post"]
    list_op = spec["paths"]["/auth/sessions"]["get"]
    refresh_in = _schema(spec, refresh_op, "requestBody", "content", "application/json", "schema")
    refresh_out = _schema(spec, refresh_op, "responses", "200", "content", "application/json", "schema")
    list_out = _schema(spec, list_op, "responses", "200", "content", "application/json", "schema")
    me_op = spec["paths"]["/auth/me"]["get"]
    me_out = _schema(spec, me_op, "responses", "200", "content", "application/json", "schema")
    check_responses = settings.validates_responses()

    def respond(envelope: dict[str, Any], schema: Any) -> Response:
        if check_responses and not schema.is_valid(envelope):
            return error(AuthspecError(None))
        return Response(dumps(envelope), status_code=envelope["statusCode"], media_type="application/json")

    def error(exc: AuthspecError) -> Response:
        return Response(
            dumps(from_error(exc, clock.now())),
            status_code=exc.status,
            headers=exc.headers,
            media_type="application/json",
        )

    async def refresh(request: Request) -> Response:
        try:
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise BadRequest("The request body is not valid JSON", code="malformed_request") from None
            if not refresh_in.is_valid(body):
                raise BadRequest(None)
            pair = await services.tokens.refresh(body["refreshToken"])
        except AuthspecError as exc:
            return error(exc)
        return respond(success(pair.as_data(), clock.now()), refresh_out)

    async def principal(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("No bearer token was sent")
        info = await services.sessions.authenticate(token)
        return Principal.from_token_info(info["sub"], info)

    async def list_sessions(request: Request) -> Response:
        try:
            listed = await services.sessions.list(await principal(request))
        except AuthspecError as exc:
            return error(exc)
        return respond(success(listed.as_data(), clock.now()), list_out)

    async def me(request: Request) -> Response:
        try:
            user = await services.auth.current_user((await principal(request)).user_id)
        except AuthspecError as exc:
            return error(exc)
        return respond(success(user_data(user), clock.now()), me_out)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await storage.start(migrate=settings.migrate_on_start)
        try:
            yield
        finally:
            await storage.close()

    return Starlette(
        routes=[
            Route(f"{API}/auth/refresh", refresh, methods=["POST"]),
            Route(f"{API}/auth/sessions", list_sessions, methods=["GET"]),
            Route(f"{API}/auth/me", me, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
