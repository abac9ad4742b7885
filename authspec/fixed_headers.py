"""Response headers the contract fixes to one value, sent wherever it declares them.

A response header whose schema is a one-value ``enum`` can only ever be sent with that value, so
the contract, not each handler, decides where it goes: ``Cache-Control: no-store`` and
``Pragma: no-cache`` (``components/common.yaml#/headers``) on every answer that carries a token, a
code or a registration token (RFC 6749 §5.1, RFC 9111 §5.2.2.5). ``FixedHeaders.of`` reads them
from the documents an app serves, per operation and status; ``FixedHeadersMiddleware`` (inside
response validation, around the handlers and the mock's overrides) sets them on the answer of the
operation Connexion routed to, for the service and the mock alike. Errors are rendered outside that
layer and carry none (no error holds a credential): the house rule ``fixed_header_problems`` keeps
fixed headers on success responses, requires them there as ``required`` headers, and requires
``Cache-Control`` and ``Pragma`` on every success response whose schema has a credential property
(``CREDENTIAL``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.spec import Spec, iter_operations

ROUTING = "connexion_routing"
#: Property names that hold a credential: a code, or anything named ``…token`` / ``…tokens``.
CREDENTIAL = re.compile(r"(code|.*[tT]okens?)\Z")
#: The fixed headers a response carrying a credential must declare, with their values.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

HeaderList = tuple[tuple[bytes, bytes], ...]


def fixed_value(header: Mapping[str, Any]) -> str | None:
    """The one value a header declaration allows (``schema.enum`` of one string), else None."""
    schema = header.get("schema") or {}
    values = schema.get("enum") if isinstance(schema, dict) else None
    if isinstance(values, list) and len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return None


def fixed_headers(response: Mapping[str, Any]) -> dict[str, str]:
    """The fixed headers a response declaration names, with their values."""
    found = {}
    for name, header in (response.get("headers") or {}).items():
        value = fixed_value(header) if isinstance(header, dict) else None
        if value is not None:
            found[name] = value
    return found


class FixedHeaders:
    """The fixed headers of every operation an app serves, by (API base path, operationId) and status."""

    def __init__(self) -> None:
        self._table: dict[tuple[str, str], dict[str, HeaderList]] = {}

    def add(self, base: str, spec: Spec) -> FixedHeaders:
        for _path, _method, op in iter_operations(spec):
            by_status = {}
            for status, response in (op.get("responses") or {}).items():
                headers = fixed_headers(response)
                if headers:
                    by_status[str(status).upper()] = tuple(
                        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
                    )
            if by_status and op.get("operationId"):
                self._table[(base.rstrip("/"), op["operationId"])] = by_status
        return self

    def __bool__(self) -> bool:
        return bool(self._table)

    def lookup(self, base: str, operation_id: str | None, status: int) -> HeaderList:
        """The headers to send with ``status`` from that operation (the status, ``2XX``, ``default``)."""
        by_status = self._table.get((base.rstrip("/"), operation_id or ""))
        if not by_status:
            return ()
        for key in (str(status), f"{status // 100}XX", "DEFAULT"):
            if key in by_status:
                return by_status[key]
        return ()


class FixedHeadersMiddleware:
    """Set the routed operation's fixed headers on its answer (replacing any other value)."""

    def __init__(self, app: ASGIApp, table: FixedHeaders) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = (scope.get("extensions") or {}).get(ROUTING) or {}
        if scope["type"] != "http" or not routing.get("operation_id"):
            await self.app(scope, receive, send)
            return
        base, operation_id = str(routing.get("api_base_path") or ""), str(routing["operation_id"])

        async def send_fixed(message: Message) -> None:
            if message["type"] == "http.response.start":
                fixed = self.table.lookup(base, operation_id, int(message["status"]))
                if fixed:
                    names = {name for name, _ in fixed}
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                    message = {**message, "headers": [*kept, *fixed]}
            await send(message)

        await self.app(scope, receive, send_fixed)


# -- the house rule ---------------------------------------------------------------------------------
def fixed_header_problems(spec: Spec) -> list[str]:
    """Fixed headers only on success responses, each ``required``; a success response whose schema
    has a credential property declares ``NO_STORE``. ``spec`` is a document without refs."""
    problems = []
    for path, method, op in iter_operations(spec):
        where = f"{op.get('operationId') or '?'} ({method.upper()} {path})"
        for status, response in (op.get("responses") or {}).items():
            declared = fixed_headers(response)
            headers = response.get("headers") or {}
            success = str(status).startswith("2")
            for name in sorted(declared):
                if not success:
                    problems.append(
                        f"{where}: {status} declares the fixed header {name}, but only success answers carry "
                        "fixed headers (errors are rendered outside the operation)"
                    )
                elif not headers[name].get("required"):
                    problems.append(f"{where}: {status} header {name} has one value; declare it required: true")
            carried = sorted(set(_credentials(response)))
            if success and carried:
                for name, value in NO_STORE.items():
                    if declared.get(name) != value:
                        problems.append(
                            f"{where}: {status} carries {', '.join(carried)}; declare the {name} header "
                            f"({value}, components/common.yaml#/headers/{name})"
                        )
    return problems


def _credentials(response: Mapping[str, Any]) -> Iterator[str]:
    for media in (response.get("content") or {}).values():
        yield from _credential_properties(media.get("schema"), 0)


def _credential_properties(schema: Any, depth: int) -> Iterator[str]:
    if not isinstance(schema, dict) or depth > 32:
        return
    for name, sub in (schema.get("properties") or {}).items():
        if CREDENTIAL.match(name):
            yield name
        yield from _credential_properties(sub, depth + 1)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key) or []:
            yield from _credential_properties(sub, depth + 1)
    yield from _credential_properties(schema.get("items"), depth + 1)
