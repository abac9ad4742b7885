"""Mapping operationIds to handler functions: ``<root>.<tag>.<snake_case operationId>``.

The spec names no Python module: ``refreshToken`` tagged ``tokens`` resolves to
``authspec.handlers.tokens.refresh_token``. The real service and the mock both resolve from the
root ``authspec.handlers``, by name (the mock never imports it); the mock adds an ``overrides``
root (``authspec.mock.overrides``) whose function of the same name, when there is one, *wraps* the
resolved handler: it is called once with that handler and returns the one the mock serves.

Every operation must resolve. One that does not stops the app's start (``require_handlers``, which
``authspec.app.create_app`` runs before anything is built) and ``authspec check``, with one line
naming the operationId and the function expected, so a missing handler never answers 501 by
accident. An operation the contract marks ``x-planned: true`` is deliberately left without a
handler: the real service answers it with 501 ``not_implemented``, the mock from the contract
(its ``fallback``, the example responder). A module that exists but fails to import is a bug and
is raised, never hidden behind a 501.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection
from typing import Any

from connexion.exceptions import ResolverError
from connexion.resolver import Resolution, Resolver

from authspec.errors import NotImplementedOperation
from authspec.spec import Spec, iter_operations

Handler = Callable[..., Any]
Fallback = Callable[[Any], Handler]
#: An override: called with the handler the operation would otherwise have, returns the one served.
Override = Callable[[Handler], Handler]

#: The handler root of the contract's operations: the real service's, and the mock's too (by name).
HANDLERS = "authspec.handlers"
#: The handler root of the mock's control API (``openapi/mock-admin.yaml``).
CONTROL_HANDLERS = "authspec.mock.control"
#: The operation extension that leaves an operation deliberately without a handler.
PLANNED = "x-planned"

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class MissingHandler(Exception):
    """Operations of the contract that resolve to no function; the message is one line."""


def snake_case(operation_id: str) -> str:
    """``requestEmailCode`` → ``request_email_code``."""
    return _CAMEL_BOUNDARY.sub("_", operation_id).lower()


def operation_tag(op: dict[str, Any]) -> str:
    """The tag an operation's handler module is named after: its first tag (``default`` without)."""
    tags = op.get("tags") or ["default"]
    return str(tags[0])


def handler_path(root: str, tag: str, operation_id: str) -> str:
    """The dotted path of an operation's handler function."""
    return f"{root}.{tag}.{snake_case(operation_id)}"


def is_planned(op: dict[str, Any]) -> bool:
    """Whether the contract leaves ``op`` deliberately without a handler (``x-planned: true``)."""
    return op.get(PLANNED) is True


def find_handler(dotted: str) -> Handler | None:
    """The function at ``dotted``, or None when its module or the function does not exist."""
    module_name, _, func_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this module (or a parent of it) does not exist" means "no handler".
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise
    func = getattr(module, func_name, None)
    return func if callable(func) else None


def missing_handler(root: str, path: str, method: str, op: dict[str, Any]) -> str | None:
    """Why ``op`` cannot be served from ``root`` (one line), or None when it can."""
    operation_id = op.get("operationId")
    if not operation_id:
        return f"{method.upper()} {path} has no operationId, so no handler can be found for it"
    dotted = handler_path(root, operation_tag(op), operation_id)
    if find_handler(dotted) is not None:
        return None
    module, _, function = dotted.rpartition(".")
    return (
        f"operationId {operation_id} ({method.upper()} {path}) has no handler: expected function {function} "
        f"in {module} (or mark the operation {PLANNED}: true to leave it without one)"
    )


def missing_handlers(spec: Spec, root: str, planned: Collection[str] = ()) -> list[str]:
    """One line for each operation of ``spec`` that resolves to nothing under ``root``, leaving out
    those marked ``x-planned`` and the operationIds in ``planned``."""
    problems = []
    for path, method, op in iter_operations(spec):
        if is_planned(op) or op.get("operationId") in planned:
            continue
        problem = missing_handler(root, path, method, op)
        if problem is not None:
            problems.append(problem)
    return problems


def handler_problems(spec: Spec, root: str) -> list[str]:
    """What ``authspec check`` says of ``spec``'s handlers under ``root``: every operation without
    one that is not planned, and every planned one that has one (its mark is stale)."""
    problems = missing_handlers(spec, root)
    for path, method, op in iter_operations(spec):
        if is_planned(op) and op.get("operationId") and missing_handler(root, path, method, op) is None:
            dotted = handler_path(root, operation_tag(op), op["operationId"])
            problems.append(
                f"operationId {op['operationId']} ({method.upper()} {path}) is marked {PLANNED} "
                f"but has a handler, {dotted}: remove the mark"
            )
    return problems


def require_handlers(spec: Spec, root: str, planned: Collection[str] = ()) -> None:
    """Raise ``MissingHandler`` (one line naming each) unless every operation of ``spec`` resolves."""
    problems = missing_handlers(spec, root, planned)
    if problems:
        raise MissingHandler("; ".join(problems))


def not_implemented(operation_id: str) -> Handler:
    """A handler that answers 501 ``not_implemented`` for ``operation_id``."""

    async def handler(*_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedOperation(f"{operation_id} is not implemented yet")

    handler.__name__ = snake_case(operation_id)
    return handler


class TagResolver(Resolver):  # type: ignore[misc]
    """Connexion resolver for ``<root>.<first tag>.<snake_case operationId>``.

    ``fallback`` builds the handler of a planned operation (default: 501 ``not_implemented``);
    ``planned`` names operationIds that may lack a handler besides those marked ``x-planned`` (a
    test's handler root that implements only some); ``overrides`` is a root of wrappers.
    """

    def __init__(
        self,
        root: str,
        fallback: Fallback | None = None,
        *,
        overrides: str | None = None,
        planned: Collection[str] = (),
    ) -> None:
        super().__init__()
        self.root = root
        self.fallback = fallback
        self.overrides = overrides
        self.planned = frozenset(planned)

    def resolve_operation_id(self, operation: Any) -> str:
        if not operation.operation_id:
            raise ResolverError(f"{operation.method.upper()} {operation.path} has no operationId")
        return handler_path(self.root, operation_tag(self._raw(operation)), operation.operation_id)

    @staticmethod
    def _raw(operation: Any) -> dict[str, Any]:
        raw: dict[str, Any] = operation._operation  # Connexion keeps the operation's dict here
        return raw

    def resolve(self, operation: Any) -> Resolution:
        raw = self._raw(operation)
        function = find_handler(self.resolve_operation_id(operation))
        if function is None:
            if not (is_planned(raw) or operation.operation_id in self.planned):
                # create_app's require_handlers said so already; this guards other callers.
                raise MissingHandler(missing_handler(self.root, operation.path, operation.method, raw))
            if self.fallback is not None:
                function = self.fallback(operation)
            else:
                function = not_implemented(operation.operation_id)
        if self.overrides is not None:
            wrapper = handler_path(self.overrides, operation_tag(raw), operation.operation_id)
            override: Override | None = find_handler(wrapper)
            if override is not None:
                function = override(function)
        # Keep the spec's operationId as Connexion's: the routing scope then names the operation
        # as the contract does (the mock's scenarios and request log rely on it).
        return Resolution(function, operation.operation_id)
