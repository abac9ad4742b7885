"""The mock's app factory (``uvicorn --factory mock.app:create_app``): the contract over in-memory worlds.

The same bundle, validation, error envelopes, CORS and handlers as the real service
(``authspec.app``; the resolver root is the string ``authspec.handlers``, so the mock runs the
service's handlers, by name, over the request's world), with the wrappers of ``mock.overrides``
where the mock answers differently, a bearer check against the request's world, the control API
at ``/__mock`` (``openapi/mock-admin.yaml``, resolved to ``mock.control``) and the pipeline of
``mock.middleware``. The mock signs access tokens with its own development key, generated per
process and served as the JWK Set, and keeps a generated service secret in memory. Operations
the contract marks ``x-planned: true`` (deliberately without a handler) are answered from the
contract by ``fallback``: the first example of their success response, or data generated from
its schema.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from connexion import AsyncApp, NoContent
from connexion.middleware import MiddlewarePosition

from authspec.app import ExtraApi
from authspec.app import create_app as create_contract_app
from authspec.cors import CorsPolicy
from authspec.credentials import CodeHasher
from authspec.errors import Unauthorized
from authspec.exitsignal import on_exit_signal
from authspec.keys import Keyring
from authspec.resolver import CONTROL_HANDLERS, HANDLERS
from authspec.resource_clients import ResourceClients
from authspec.servers import ServedServers, control_servers
from authspec.services import build_services
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, API_SPEC, Spec, base_path, inline_document, iter_operations

from .bundles import load_bundle_cached
from .context import MockApp, RequestClock, WorldClock, current_request, current_world
from .fixtures import DEFAULT_FIXTURES, FixtureError, load_fixtures
from .middleware import EntryMiddleware, GateMiddleware, OverrideMiddleware
from .namespaces import NAMESPACE_CLAIM, World, Worlds, wrong_namespace
from .responder import Responder

CONTROL_PREFIX = "/__mock"
#: The mock's wrappers around some of the handlers it runs (the real service's, ``HANDLERS``).
OVERRIDES = "authspec.mock.overrides"
#: Requests the log leaves out: the documents and Swagger UI, not operations of the API.
QUIET_PATHS = ("/openapi.json", "/docs")


class DevCodeHasher(CodeHasher):
    """Accepts a fixed development code for every email, besides the emailed one."""

    def __init__(self, inner: CodeHasher, dev_code: str) -> None:
        self._inner = inner
        self._dev_code = dev_code

    def hash(self, email: str, code: str) -> str:
        return self._inner.hash(email, code)

    def matches(self, email: str, code: str, stored: str) -> bool:
        return code == self._dev_code or self._inner.matches(email, code, stored)


def mock_cors(settings: Settings) -> CorsPolicy | None:
    """Open to every origin by default, as Prism is; ``AUTHSPEC_CORS_ORIGINS`` narrows it and
    ``AUTHSPEC_MOCK_CORS=false`` turns it off. A page on a public origin may call a mock on the
    developer's machine (Chrome's Private Network Access preflight is answered)."""
    if not settings.mock_cors:
        return None
    return CorsPolicy.of(settings.cors_origins or ["*"], allow_private_network=True)


def preflight(settings: Settings, setting: str = "AUTHSPEC_MOCK_FIXTURES") -> str | None:
    """Why the mock cannot start with ``settings``, on one line naming ``setting``; None when it can.

    ``authspec mock`` calls it (by name, as it names the factory) before uvicorn builds the app,
    so a bad fixtures file ends the command with that line instead of a traceback.
    """
    path = settings.mock_fixtures
    if path is None:
        return None
    if not path.is_file():
        return f"{setting}: no fixtures file at {path}"
    try:
        load_fixtures(path, load_bundle_cached(API_SPEC))
    except FixtureError as exc:
        return " ".join(f"{setting}: {exc}".split())  # YAML errors span lines; the message is one
    return None


def create_app(
    settings: Settings | None = None,
    *,
    spec: Spec | None = None,
    fixtures: Path | str | None = None,
    keyring: Keyring | None = None,
) -> AsyncApp:
    """The mock of ``spec`` (default: the bundled contract, cached by ``mock.bundles``) with users from
    ``fixtures`` (default: ``AUTHSPEC_MOCK_FIXTURES``, else the shipped set)."""
    settings = settings or Settings()
    spec = spec if spec is not None else load_bundle_cached(API_SPEC)
    users = load_fixtures(fixtures or settings.mock_fixtures or DEFAULT_FIXTURES, spec)
    keyring = keyring or Keyring.generate()
    # The secret behind code hashes and refresh successors: the process's own, in memory, like its key.
    secrets = ServiceSecrets.generate()
    if settings.mock_dev_code:
        secrets = ServiceSecrets(
            codes=DevCodeHasher(secrets.codes, settings.mock_dev_code),
            refresh_key=secrets.refresh_key,
            log_key=secrets.log_key,
        )

    def build(world: World) -> Any:
        return build_services(
            access_claims={NAMESPACE_CLAIM: world.name},
            repo=world.repository,
            limiter=world.limiter,
            mailer=world.outbox,
            keyring=keyring,
            clock=RequestClock(world),
            settings=settings,
            secrets=secrets,
        )

    # The responder walks and validates schemas: it gets them with the named schemas inlined.
    inlined = inline_document(spec)
    operations = {op["operationId"]: op for _path, _method, op in iter_operations(inlined) if op.get("operationId")}
    # With the console mail backend (the default) each code is printed too, as `authspec serve` does.
    worlds = Worlds(users, build, print_codes=settings.mail_backend == "console")
    mock = MockApp(settings=settings, worlds=worlds, operations=operations, responder=Responder())

    async def bearer(token: str, request: Any) -> dict[str, Any]:  # noqa: ARG001 - Connexion's signature
        world = current_world()
        try:
            token_info: dict[str, Any] = await world.services.sessions.authenticate(token)
        except Unauthorized as refused:
            # A token of another world fails here like an ended session; say which world it is of.
            claims = world.services.sessions.access.signed_claims(token) or {}
            issued_in = claims.get(NAMESPACE_CLAIM)
            if isinstance(issued_in, str) and issued_in != world.name:
                raise Unauthorized(wrong_namespace("access token", issued_in), code=refused.code) from None
            raise
        return token_info

    # The resource servers of AUTHSPEC_INTROSPECTION_CLIENTS(_FILE); with neither, the documented
    # development client (dev-resource-server / dev-secret), so the whole chain can be tried locally.
    hashes = settings.resource_client_hashes()
    clients = ResourceClients(hashes) if hashes else ResourceClients.development()

    async def basic(authorization: str | None, request: Any) -> dict[str, Any]:  # noqa: ARG001
        client_id = clients.authenticate(authorization)
        return {"sub": client_id, "client_id": client_id}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # A stop signal answers held long-polls of the revocation feed at once (authspec.exitsignal).
        restore = on_exit_signal(worlds.close)
        try:
            yield
        finally:
            restore()
            worlds.close()

    def fallback(operation: Any) -> Any:
        """A handler answering a planned ``operation`` from the contract ("new operations for free")."""
        operation_id = operation.operation_id

        async def answer_from_contract(**_kwargs: Any) -> Any:
            canned = mock.responder.answer(mock.operations[operation_id], current_request().now())
            body = NoContent if canned.body is None else canned.body
            return body, canned.status, canned.headers

        answer_from_contract.__name__ = operation_id
        return answer_from_contract

    app = create_contract_app(
        settings,
        handlers=HANDLERS,
        overrides=OVERRIDES,
        spec=spec,
        bearer=bearer,
        basic=basic,
        lifespan=lifespan,
        fallback=fallback,
        extra_apis={
            CONTROL_PREFIX: ExtraApi(
                spec=load_bundle_cached(ADMIN_SPEC),
                handlers=CONTROL_HANDLERS,
                servers=control_servers(CONTROL_PREFIX),
            )
        },
        clock=WorldClock(),
        middlewares=[
            (
                EntryMiddleware,
                MiddlewarePosition.BEFORE_EXCEPTION,
                {"mock": mock, "control_prefix": CONTROL_PREFIX, "quiet_paths": QUIET_PATHS},
            ),
            (GateMiddleware, MiddlewarePosition.BEFORE_SWAGGER, {}),
            (OverrideMiddleware, MiddlewarePosition.BEFORE_CONTEXT, {}),
        ],
        cors=mock_cors(settings),
        servers=ServedServers("mock", base_path(spec), settings.public_url, settings.mock_url),
    )
    app.authspec.extras["mock"] = mock
    app.authspec.extras["keyring"] = keyring
    return app
