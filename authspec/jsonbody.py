"""JSON once per request: the request body is decoded once and the answer encoded once (orjson).

Connexion decodes a JSON request body in its validator, replays the raw bytes, and decodes them
again for the handler (``request.json()``); it encodes the handler's answer with the standard
library, and its response validator decodes that answer again to check it. On the fast path
(``authspec.fastpath``):

- the request body validator keeps the value it decoded in the scope (``PARSED_BODY``) and the
  handler's request (``ParsedBodyRequest``) hands that very value to the handler; a body the
  validator did not decode (a form, no validator) is read as Connexion reads it;
- answers are encoded by ``OnceJsonifier`` with orjson, compact UTF-8, and the bytes carry the
  value they were made from (``Encoded``), so response validation checks that value instead of
  decoding the bytes. When the compiled validator does not accept it, the bytes are decoded and
  checked as before, so what is refused stays refused. A value orjson cannot encode exactly as
  Connexion's encoder does (a naive datetime, a Decimal, a dataclass, non-string keys, integers
  past 64 bits) is encoded by Connexion's encoder and checked the old way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.jsonifier import JSONEncoder, Jsonifier
from connexion.lifecycle import ConnexionRequest

#: The scope key under which the request body validator leaves the decoded JSON body.
PARSED_BODY = "authspec.json_body"
#: The scope key under which the form validator leaves a parsed urlencoded form (``authspec.formbody``).
PARSED_FORM = "authspec.form_body"
URLENCODED = "application/x-www-form-urlencoded"
#: orjson hands these to ``default`` (which refuses them): Connexion's encoder decides instead.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
#: orjson reads an integer of 19 digits or more as a float; such bodies are decoded by ``json``.
_LONG_NUMBER = re.compile(rb"\d{19}")
#: orjson reads nesting up to 1024 levels, ``json`` up to the interpreter's recursion limit, less
#: the stack in use: a document with more brackets than this (none a schema accepts) goes to ``json``.
_MAX_OPENINGS = 256
#: No value: orjson left the document to ``json``, or an answer's bytes carry none.
MISSING: Any = object()


class Encoded(bytes):
    """JSON bytes that remember the value they encode (``data``): response validation reads it."""

    data: Any


def _refuse(value: Any) -> Any:
    raise TypeError(f"left to Connexion's encoder: {type(value).__name__}")


def encode(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON: orjson's bytes carrying ``data`` when it encodes it as the
    standard library would, else Connexion's encoder's (``json``, with its defaults)."""
    try:
        raw = orjson.dumps(data, default=_refuse, option=_PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError is one: a type or a value orjson leaves to Connexion
        return json.dumps(data, cls=JSONEncoder, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    encoded = Encoded(raw)
    encoded.data = data
    return encoded


def quick_decode(raw: bytes) -> Any:
    """The value of the UTF-8 JSON document ``raw`` as ``json.loads`` would read it, by orjson; or
    ``MISSING`` where orjson refuses it or would read it differently (long integers, ``NaN``, lone
    surrogates, a byte-order mark, bytes that are not UTF-8, nesting deep enough for ``json`` to
    meet the recursion limit): the caller then asks ``json``."""
    if _LONG_NUMBER.search(raw) or raw.count(b"[") + raw.count(b"{") > _MAX_OPENINGS:
        return MISSING
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return MISSING


def decode(raw: bytes) -> Any:
    """A JSON document's value from ``raw``, as ``json.loads(raw)`` reads it (and refuses it)."""
    value = quick_decode(raw)
    return json.loads(raw) if value is MISSING else value


def encoded_value(chunks: list[bytes]) -> Any:
    """The value an answer's body chunks were encoded from, when the one chunk holding the body
    is ``Encoded``; else ``MISSING``."""
    body = [chunk for chunk in chunks if chunk]
    if len(body) == 1 and isinstance(body[0], Encoded):
        return body[0].data
    return MISSING


class OnceJsonifier(Jsonifier):  # type: ignore[misc]
    """Connexion's ``Jsonifier`` encoding answers once, with orjson (``encode``)."""

    def dumps(self, data: Any, **kwargs: Any) -> Any:
        if kwargs:  # nobody passes options on the fast path; keep Connexion's meaning if one does
            return super().dumps(data, **kwargs)
        return encode(data)

    def loads(self, data: Any) -> Any:
        try:
            return decode(data.encode() if isinstance(data, str) else data)
        except ValueError:
            return data.decode() if isinstance(data, bytes) else data


class ParsedBodyRequest(ConnexionRequest):  # type: ignore[misc]
    """The handler's request: the JSON body the validator decoded, the urlencoded form it parsed
    (``authspec.formbody``), and no form parsing for a body that is not a form, or that the
    validator parsed (Connexion asks every request for its files; such a form holds none)."""

    async def json(self) -> Any:
        parsed = self.scope.get(PARSED_BODY, MISSING)
        if parsed is not MISSING:
            return parsed
        return await super().json()

    async def form(self) -> Any:
        parsed = self.scope.get(PARSED_FORM, MISSING)
        if parsed is not MISSING and self.mimetype == URLENCODED:
            return parsed
        return await super().form()

    async def files(self) -> Any:
        if self.mimetype not in FORM_CONTENT_TYPES:
            return {}
        if self.mimetype == URLENCODED and PARSED_FORM in self.scope:
            return {}
        return await super().files()
