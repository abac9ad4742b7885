"""Mapping operationIds to handler functions: ``<root>.<tag>.<snake_case operationId>``.

The spec names no Python module: ``refreshToken`` tagged ``tokens`` resolves to
``handlers.tokens.refresh_token`` for the real service and ``mock.handlers.tokens.refresh_token``
for the mock. An operation whose module or function does not exist yet is answered by the
``fallback`` (the mock's example responder) or, without one, by 501 ``not_implemented``.
A module that exists but fails to import is a bug and is raised, never hidden behind a 501.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from connexion.exceptions import ResolverError
from connexion.resolver import Resolution, Resolver

from authspec.errors import NotImplementedOperation

Handler = Callable[..., Any]
Fallback = Callable[[Any], Handler]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(operation_id: str) -> str:
    """``requestEmailCode`` → ``request_email_code``."""
    return _CAMEL_BOUNDARY.sub("_", operation_id).lower()


def handler_path(root: str, tag: str, operation_id: str) -> str:
    """The dotted path of an operation's handler function."""
    return f"{root}.{tag}.{snake_case(operation_id)}"


def find_handler(dotted: str) -> Handler | None:
    """The function at ``dotted``, or None when its module or the function does not exist."""
    module_name, _, func_name = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only "this module (or a parent of it) does not exist" means "not implemented yet".
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return None
        raise
    func = getattr(module, func_name, None)
    return func if callable(func) else None


def not_implemented(operation_id: str) -> Handler:
    """A handler that answers 501 ``not_implemented`` for ``operation_id``."""

    async def handler(*_args: Any, **_kwargs: Any) -> Any:
        raise NotImplementedOperation(f"{operation_id} is not implemented yet")

    handler.__name__ = snake_case(operation_id)
    return handler


class TagResolver(Resolver):  # type: ignore[misc]
    """Connexion resolver for ``<root>.<first tag>.<snake_case operationId>``."""

    def __init__(self, root: str, fallback: Fallback | None = None) -> None:
        super().__init__()
        self.root = root
        self.fallback = fallback

    def resolve_operation_id(self, operation: Any) -> str:
        if not operation.operation_id:
            raise ResolverError(f"{operation.method.upper()} {operation.path} has no operationId")
        tags = operation._operation.get("tags") or ["default"]  # Connexion keeps the raw dict here
        return handler_path(self.root, tags[0], operation.operation_id)

    def resolve(self, operation: Any) -> Resolution:
        dotted = self.resolve_operation_id(operation)
        function = find_handler(dotted)
        if function is None:
            if self.fallback is not None:
                function = self.fallback(operation)
            else:
                function = not_implemented(operation.operation_id)
        # Keep the spec's operationId as Connexion's: the routing scope then names the operation
        # as the contract does (the mock's scenarios and request log rely on it).
        return Resolution(function, operation.operation_id)
