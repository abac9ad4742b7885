"""The application factory: one Connexion AsyncApp from the bundled contract.

``create_app`` builds everything a running app needs and nothing at import time: it loads the
bundle, checks that every operation has a handler (``authspec.resolver``), routes each one
through ``TagResolver`` to the chosen handler root, serves the bundle at
``/api/v1/openapi.json`` and Swagger UI at ``/api/v1/docs/``, and installs the error renderer so
that every failure, Connexion's and Starlette's included, leaves as the envelope. The real
service (``handlers.app``) and the mock (``mock.app``) call it with the same handler root,
``authspec.handlers`` (the mock adds its overrides), and their own lifespan and bearer verifier;
it imports neither of them.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.security import BasicSecurityHandler, BearerSecurityHandler
from connexion.utils import inspect_function_arguments
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from authspec.clock import Clock, SystemClock
from authspec.cors import CorsMiddleware, CorsPolicy
from authspec.errors import Unauthorized
from authspec.fastpath import FastAsyncApp, compiled_validator_map
from authspec.fixed_headers import FixedHeaders, FixedHeadersMiddleware
from authspec.framing import RequestBodyMiddleware
from authspec.rendering import ErrorRenderer
from authspec.requestlog import RequestLogMiddleware
from authspec.resolver import Fallback, TagResolver, require_handlers
from authspec.routes import RouteTable
from authspec.servers import ServedServers, ServersOf, request_origin
from authspec.settings import Settings
from authspec.spec import API_SPEC, Spec, base_path, load_bundle, path_servers_root
from authspec.validation import one_line_validator_map

#: ``async (token, request) -> token_info``; raise ``Unauthorized`` to refuse the token.
BearerVerifier = Callable[[str, Any], Awaitable[dict[str, Any]]]
#: ``async (authorization header or None, request) -> token_info`` of a resource server (HTTP Basic);
#: raise ``Unauthorized`` (``invalid_client``) to refuse it.
BasicVerifier = Callable[[str | None, Any], Awaitable[dict[str, Any]]]
Lifespan = Callable[[Any], Any]


class _OneBodyPerContentType(logging.Filter):
    """Drops Connexion's warning about an operation with several request content types (introspection
    takes RFC 7662's form and JSON): it is logged on every such request, and each content type is
    validated against its own schema anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("this operation accepts multiple content types")


logging.getLogger("connexion.operations.openapi3").addFilter(_OneBodyPerContentType())


@dataclass(frozen=True)
class ExtraApi:
    """A further document served by the same app (the mock's control API)."""

    spec: Spec
    handlers: str
    fallback: Fallback | None = None
    swagger_ui: bool = True
    #: The servers it is served with (default: as written).
    servers: ServersOf | None = None


@dataclass
class AppInfo:
    """What a built app was made from; tests and the CLI read it as ``app.authspec``."""

    settings: Settings
    spec: Spec
    clock: Clock
    extras: dict[str, Any] = field(default_factory=dict)


async def refuse_all_tokens(token: str, request: Any) -> dict[str, Any]:  # noqa: ARG001
    """The bearer verifier of an app that has no key store yet: every token is refused."""
    raise Unauthorized("The access token is not valid", code="invalid_token")


async def refuse_all_clients(authorization: str | None, request: Any) -> dict[str, Any]:  # noqa: ARG001
    """The Basic verifier of an app with no resource server configured: every caller is refused."""
    raise Unauthorized("The client credentials are missing or not valid", code="invalid_client")


@functools.cache
def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
    arguments, has_kwargs = inspect_function_arguments(func)
    return bool(has_kwargs or keyword in arguments)


def _bearer_handler(verify: BearerVerifier, fast: bool = True) -> type[BearerSecurityHandler]:
    class _AppBearer(BearerSecurityHandler):  # type: ignore[misc]
        # Connexion looks the function up by name from the spec (x-bearerInfoFunc); each app
        # gets its own verifier instead, so the spec names no Python module.
        def _resolve_func(self, security_scheme: Mapping[str, Any]) -> BearerVerifier:
            return verify

    if fast:
        # Connexion inspects the verifier's signature on every request; it never changes.
        _AppBearer._accepts_kwarg = staticmethod(_accepts_kwarg)

    return _AppBearer


def _basic_handler(verify: BasicVerifier) -> type[BasicSecurityHandler]:
    class _AppBasic(BasicSecurityHandler):  # type: ignore[misc]
        # As for bearer: the app's own verifier instead of x-basicInfoFunc. And the verifier gets the
        # raw header, so that a missing, non-Basic or malformed one is refused by it (401
        # invalid_client, Basic challenge) rather than by Connexion (a Bearer challenge).
        def _resolve_func(self, security_scheme: Mapping[str, Any]) -> BasicVerifier:
            return verify

        def _get_verify_func(self, func: BasicVerifier) -> Callable[[Any], Awaitable[dict[str, Any]]]:
            async def wrapper(request: Any) -> dict[str, Any]:
                return await func(request.headers.get("Authorization"), request)

            return wrapper

    return _AppBasic


def service_cors(settings: Settings) -> CorsPolicy | None:
    """The real service's CORS: closed unless ``AUTHSPEC_CORS_ORIGINS`` lists origins."""
    return CorsPolicy.of(settings.cors_origins) if settings.cors_origins else None


def split_root_paths(spec: Spec) -> tuple[Spec, Spec | None]:
    """Split off the path items served at the site root (``servers: [/]``, e.g. the JWKS)."""
    root_items = {p: item for p, item in spec["paths"].items() if path_servers_root(item)}
    if not root_items:
        return spec, None
    main = dict(spec)
    main["paths"] = {p: item for p, item in spec["paths"].items() if p not in root_items}
    root = dict(spec)
    root["paths"] = {p: {k: v for k, v in item.items() if k != "servers"} for p, item in root_items.items()}
    root["servers"] = [{"url": "/"}]
    return main, root


def create_app(
    settings: Settings | None = None,
    *,
    handlers: str = "authspec.handlers",
    overrides: str | None = None,
    planned: Collection[str] = (),
    spec: Spec | None = None,
    lifespan: Lifespan | None = None,
    bearer: BearerVerifier | None = None,
    basic: BasicVerifier | None = None,
    fallback: Fallback | None = None,
    extra_apis: Mapping[str, ExtraApi] | None = None,
    clock: Clock | None = None,
    middlewares: Sequence[tuple[type, MiddlewarePosition, dict[str, Any]]] = (),
    cors: CorsPolicy | None = None,
    servers: ServersOf | None = None,
    fast: bool = True,
) -> AsyncApp:
    """Build the ASGI app of the contract with handlers from ``handlers`` (a package name).

    Every operation must resolve (``authspec.resolver``): one without a handler raises
    ``MissingHandler`` here, naming it, unless the contract marks it ``x-planned: true`` or
    ``planned`` names it; those are answered by ``fallback`` (default: 501 ``not_implemented``).
    ``overrides`` is a package of wrappers around the resolved handlers (the mock's).

    ``spec`` defaults to the bundle of ``openapi/openapi.yaml``; ``extra_apis`` maps a base path
    (``/__mock``) to a further document. ``cors`` says which browser origins may call the app
    (none when omitted; ``service_cors`` gives the real service's). ``servers`` gives the served
    document's ``servers`` from the origin that asked (default: the service's, ``authspec.servers``).
    ``bearer`` checks access tokens, ``basic`` the resource servers' HTTP Basic credentials
    (introspection and the revocation feed; default: every caller refused). ``lifespan`` yields
    the state handlers read from ``connexion.request.state``. ``fast=False`` builds stock
    Connexion (the benchmarks' baseline); the default removes its per-request rework
    (``authspec.fastpath``) with the same behaviour.
    """
    settings = settings or Settings()
    spec = spec if spec is not None else load_bundle(API_SPEC)
    clock = clock or SystemClock()
    require_handlers(spec, handlers, planned)
    for extra in (extra_apis or {}).values():
        require_handlers(extra.spec, extra.handlers)
    main_spec, root_spec = split_root_paths(spec)
    api_base = base_path(spec)
    security_map = {
        "bearer": _bearer_handler(bearer or refuse_all_tokens, fast),
        "basic": _basic_handler(basic or refuse_all_clients),
    }

    app = (FastAsyncApp if fast else AsyncApp)(__name__, lifespan=lifespan, security_map=security_map)
    common: dict[str, Any] = {
        "strict_validation": True,
        "validate_responses": settings.validate_responses,
        "security_map": security_map,
    }
    # Every validation problem is one line (authspec.validation), on the fast path and stock alike.
    common["validator_map"] = {**one_line_validator_map(), **(compiled_validator_map() if fast else {})}
    routes = RouteTable()
    routes.add(api_base, main_spec)
    fixed = FixedHeaders().add(api_base, main_spec)
    app.add_api(
        copy.deepcopy(main_spec),
        base_path=api_base,
        resolver=TagResolver(handlers, fallback, overrides=overrides, planned=planned),
        swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui_path="/docs"),
        **common,
    )
    if root_spec is not None:
        routes.add("", root_spec)
        fixed.add("", root_spec)
        app.add_api(
            root_spec,
            base_path="",
            resolver=TagResolver(handlers, fallback, overrides=overrides, planned=planned),
            swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=False),
            **common,
        )
    for extra_base, extra in (extra_apis or {}).items():
        routes.add(extra_base, extra.spec)
        fixed.add(extra_base, extra.spec)
        app.add_api(
            copy.deepcopy(extra.spec),
            base_path=extra_base,
            resolver=TagResolver(extra.handlers, extra.fallback),
            swagger_ui_options=SwaggerUIOptions(serve_spec=False, swagger_ui=extra.swagger_ui, swagger_ui_path="/docs"),
            **common,
        )
        _serve_document(app, f"{extra_base}/openapi.json", extra.spec, extra.servers)

    # Served by us, not by Connexion, whose copy would replace `servers` with the bare base path.
    if servers is None:
        servers = ServedServers("service", api_base, settings.public_url, settings.mock_url)
    _serve_document(app, f"{api_base}/openapi.json", spec, servers)
    for path, target in _doc_redirects(api_base, extra_apis or {}).items():
        _redirect(app, path, target)
        routes.add_route(path, {"GET", "HEAD"})

    renderer = ErrorRenderer(clock=clock, routes=routes)
    renderer.install(app)
    # Added first at the outermost position, so it is outside every other layer (CORS, body
    # limits, routing): every answer carries the request id and is logged (authspec.requestlog).
    app.add_middleware(
        RequestLogMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, trusted_proxies=settings.trusted_proxies
    )
    app.add_middleware(
        RequestBodyMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, max_bytes=settings.max_body_bytes
    )
    # Inside response validation and around the mock's overrides: the contract's fixed headers
    # (Cache-Control: no-store on credentials) are on every answer an operation gives.
    app.add_middleware(FixedHeadersMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT, table=fixed)
    for middleware, position, options in middlewares:
        app.add_middleware(middleware, position=position, **options)
    if cors is not None:
        # Before the exception layer, so that error envelopes carry the CORS headers too.
        app.add_middleware(CorsMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, policy=cors, clock=clock)
    app.authspec = AppInfo(settings=settings, spec=spec, clock=clock)
    return app


def _doc_redirects(api_base: str, extra_apis: Mapping[str, ExtraApi]) -> dict[str, str]:
    """Where a person typing a short address lands: ``/`` and ``/docs`` at the API's Swagger UI,
    an extra API's base path (``/__mock``, ``/__mock/``) at its own. Redirects, not operations:
    the contract does not list them, and any other unknown path is still a 404 envelope."""
    redirects = {"/": f"{api_base}/docs/", "/docs": f"{api_base}/docs/"}
    for extra_base, extra in extra_apis.items():
        if extra.swagger_ui:
            redirects[extra_base] = redirects[f"{extra_base}/"] = f"{extra_base}/docs/"
    return redirects


def _redirect(app: AsyncApp, path: str, target: str) -> None:
    async def redirect(request: Request) -> Response:  # noqa: ARG001
        return RedirectResponse(target, status_code=307)

    app.add_url_rule(path, f"redirect {path}", redirect, methods=["GET", "HEAD"])


def _serve_document(app: AsyncApp, path: str, document: Spec, servers_of: ServersOf | None) -> None:
    """Serve ``document`` at ``path``, its ``servers`` made for the origin that asked."""
    from authspec.envelope import dumps

    if servers_of is None:
        body = dumps(document)

        async def as_written(request: Request) -> Response:  # noqa: ARG001
            return Response(body, media_type="application/json")

        app.add_url_rule(path, path, as_written, methods=["GET"])
        return

    @functools.lru_cache(maxsize=32)  # bounded: the Host header is the client's to choose
    def rendered(origin: str | None) -> bytes:
        return dumps({**document, "servers": servers_of(origin)})

    async def for_this_origin(request: Request) -> Response:
        origin = request_origin(request.url.scheme, request.headers.get("host"))
        return Response(rendered(origin), media_type="application/json")

    app.add_url_rule(path, path, for_this_origin, methods=["GET"])
