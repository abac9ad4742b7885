"""Request bodies decided and parsed once: an operation's body definitions, and urlencoded forms.

Connexion works out an operation's body definition (the content type's entry, its refs resolved)
on every call of ``body_definition``, and the handler's arguments ask for it several times per
request (for an operation with several request content types, each call also logs a warning,
which ``authspec.app`` drops only after the record is built). ``OnceBodyOperation`` keeps each
definition once worked out. An ``application/x-www-form-urlencoded`` body is parsed twice: by the
request validator and again for the handler. ``OnceFormDataValidator`` parses it once
(``QuickFormParser``) and leaves the parsed form in the scope (``PARSED_FORM``), where the handler's
request (``authspec.jsonbody.ParsedBodyRequest``) takes it, as it takes a decoded JSON body.

``QuickFormParser`` reads a plain form (``name=value`` fields of URL-safe characters, joined by
``&``, within Starlette's field count and size limits) with ``str.split`` and the very decoding
Starlette's ``FormParser`` applies (``latin-1``, then ``unquote_plus``; the charset is ignored, as
there); every other body (empty fields, a missing ``=``, other bytes) goes to Starlette's parser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import unquote_plus

from connexion.operations import OpenAPIOperation
from connexion.validators import FormDataValidator
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser
from starlette.types import Scope

from authspec.jsonbody import PARSED_FORM

#: Bounds on per-operation caches keyed by request input (content types): past them, work is redone.
MAX_DEFINITIONS = 32
#: Bodies longer than this go to Starlette's parser (no field of a shorter one can pass its limits).
QUICK_FORM_BYTES = 64 * 1024
_FIELD = rb"[A-Za-z0-9._~%+*\-]+=[A-Za-z0-9._~%+*\-=]*"
_PLAIN_FORM = re.compile(rb"%s(?:&%s)*" % (_FIELD, _FIELD))


class OnceBodyOperation(OpenAPIOperation):  # type: ignore[misc]
    """Connexion's OpenAPI operation with each body definition worked out once per content type."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._definitions: dict[str | None, dict[str, Any]] = {}

    def body_definition(self, content_type: str | None = None) -> dict[str, Any]:
        definition = self._definitions.get(content_type)
        if definition is None:
            definition = super().body_definition(content_type)
            if len(self._definitions) < MAX_DEFINITIONS:
                self._definitions[content_type] = definition
        return definition


def quick_fields(raw: bytes, max_fields: float, max_part_size: int) -> list[tuple[str, str | UploadFile]] | None:
    """The fields of a plain urlencoded ``raw`` as Starlette's ``FormParser`` reads them, or None
    when ``raw`` is not plain (that parser then decides, and raises what it raises)."""
    if len(raw) > min(QUICK_FORM_BYTES, max_part_size) or not _PLAIN_FORM.fullmatch(raw):
        return None
    fields = raw.split(b"&")
    if len(fields) > max_fields:
        return None
    items: list[tuple[str, str | UploadFile]] = []
    for field in fields:
        name, _, value = field.partition(b"=")
        items.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))
    return items


async def _replay(chunks: list[bytes]) -> AsyncGenerator[bytes, None]:
    for chunk in chunks:
        yield chunk


class QuickFormParser(FormParser):
    """Starlette's urlencoded form parser, with plain forms read by ``quick_fields``."""

    async def parse(self) -> FormData:
        chunks = [chunk async for chunk in self.stream]
        items = quick_fields(b"".join(chunks), self.max_fields, self.max_part_size)
        if items is not None:
            return FormData(items)
        self.stream = _replay(chunks)
        return await super().parse()


def _has_file_fields(schema: Any) -> bool:
    """Whether a form schema declares a file property (Connexion's validator puts a placeholder
    for those, so its parsed form is not the handler's)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    for prop in (properties or {}).values():
        for node in (prop, prop.get("items") if isinstance(prop, dict) else None):
            if isinstance(node, dict) and node.get("format") in ("binary", "base64"):
                return True
    return False


class OnceFormDataValidator(FormDataValidator):  # type: ignore[misc]
    """Connexion's urlencoded form validator, parsing with ``QuickFormParser`` and leaving the
    parsed form (resolved by the operation's URI parser, as the handler's would be) in the scope.
    The fast path always builds it with that URI parser (``FastRequestValidationOperation``)."""

    @property
    def _form_parser_cls(self) -> type[FormParser]:
        return QuickFormParser

    async def _parse(self, stream: Any, scope: Scope) -> Any:
        data = await super()._parse(stream, scope)
        if isinstance(data, dict) and not _has_file_fields(self._schema):
            scope[PARSED_FORM] = data
        return data
