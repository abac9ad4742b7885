"""The mock's app factory (``uvicorn --factory mock.app:create_app``): the contract over in-memory worlds.

The same bundle, validation, error envelopes and CORS as the real service (``authspec.app``),
with the resolver root ``mock.handlers``, a bearer check against the request's world, the
control API at ``/__mock`` (``openapi/mock-admin.yaml``, resolved to ``mock.control``) and the
pipeline of ``mock.middleware``. The mock signs access tokens with its own development key,
generated per process and served as the JWK Set. Operations without a stateful handler are
answered from the contract by ``fallback``: the first example of their success response, or data
generated from its schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connexion import AsyncApp, NoContent
from connexion.middleware import MiddlewarePosition

from authspec.app import ExtraApi
from authspec.app import create_app as create_contract_app
from authspec.keys import Keyring
from authspec.services import build_services
from authspec.services.secrets import ServiceSecrets
from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, API_SPEC, Spec, inline_document, iter_operations
from authspec.tokens import CodeHasher

from .bundles import load_bundle_cached
from .context import MockApp, RequestClock, WorldClock, current_request, current_world
from .fixtures import DEFAULT_FIXTURES, load_fixtures
from .middleware import EntryMiddleware, GateMiddleware, OverrideMiddleware
from .namespaces import World, Worlds
from .responder import Responder

CONTROL_PREFIX = "/__mock"
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
    secrets = ServiceSecrets.from_keyring(keyring)
    if settings.mock_dev_code:
        secrets = ServiceSecrets(
            codes=DevCodeHasher(secrets.codes, settings.mock_dev_code), refresh_key=secrets.refresh_key
        )

    def build(world: World) -> Any:
        return build_services(
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
    mock = MockApp(settings=settings, worlds=Worlds(users, build), operations=operations, responder=Responder())

    async def bearer(token: str, request: Any) -> dict[str, Any]:  # noqa: ARG001 - Connexion's signature
        token_info: dict[str, Any] = await current_world().services.sessions.authenticate(token)
        return token_info

    def fallback(operation: Any) -> Any:
        """A handler answering ``operation`` from the contract ("new operations for free")."""
        operation_id = operation.operation_id

        async def answer_from_contract(**_kwargs: Any) -> Any:
            canned = mock.responder.answer(mock.operations[operation_id], current_request().now())
            body = NoContent if canned.body is None else canned.body
            return body, canned.status, canned.headers

        answer_from_contract.__name__ = operation_id
        return answer_from_contract

    app = create_contract_app(
        settings,
        handlers="authspec.mock.handlers",
        spec=spec,
        bearer=bearer,
        fallback=fallback,
        extra_apis={CONTROL_PREFIX: ExtraApi(spec=load_bundle_cached(ADMIN_SPEC), handlers="authspec.mock.control")},
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
    )
    app.authspec.extras["mock"] = mock
    app.authspec.extras["keyring"] = keyring
    return app
