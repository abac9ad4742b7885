"""Request bodies parsed safely, and validation errors as one readable line per problem.

Both belong to stock Connexion and the fast path alike (``one_line_validator_map``), so the two
answer every request the same; ``authspec.fastpath`` only adds speed on top.

Connexion words a refused parameter as ``str(ValidationError)``: the message, then "Failed
validating 'pattern' in schema:" and a dump of the schema and the instance, over many lines. A
refused body gets the first problem only, with its path after it (``'x' is not a 'email' -
'email'``). Both validators are replaced here, through Connexion's ``validator_map``, for the fast
path and stock Connexion alike: every problem becomes one line that starts with where it is —

    sessionId: 'abc' does not match pattern '^[0-9a-fA-F-]{36}$'
    body.email: 'x' is not a 'email'
    body: 'code' is a required property

(parameters by their name, body fields as ``body.<path>``). A body lists each refused place once
(its most telling problem: a missing field or a wrong type before a regex), one entry of the
envelope's ``errors`` each. Every validator here (parameters, request and response bodies) reads
``pattern`` as ECMA-262 does, through ``authspec.patterns``: the fast path's jsonschema-rs and
these fallbacks refuse the same values (Python's ``$`` would accept a final newline).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from jsonschema import Draft4Validator, ValidationError  # type: ignore[import-untyped]
from jsonschema.exceptions import relevance  # type: ignore[import-untyped]
from starlette.types import Scope

from authspec.errors import BadRequest, UnsupportedMediaType
from authspec.jsonbody import MISSING, quick_decode
from authspec.patterns import with_ecma_patterns

#: A problem line quotes the refused value; past this length it is cut (a line, not a dump).
MAX_LINE = 240
#: At most this many problems of one body are listed.
MAX_PROBLEMS = 10
#: The names of UTF-8 a request's charset may give (the default is utf-8).
_UTF8 = frozenset({"utf-8", "utf8", "utf_8", "u8"})


def describe(error: ValidationError, where: str) -> str:
    """One line: ``where`` (extended by the error's path inside the value), then the problem."""
    inner = ".".join(str(part) for part in error.absolute_path)
    location = f"{where}.{inner}" if inner and where else (inner or where)
    if error.validator == "pattern":
        message = f"{error.instance!r} does not match pattern {error.validator_value!r}"
    else:
        message = error.message
    text = f"{location}: {message}" if location else str(message)
    line = " ".join(text.split())  # no newline survives, whatever the value held
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


class OneLineParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator, wording a refused value as ``name: problem``."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            schema = param.get("schema", param)
            validator = with_ecma_patterns(Draft4Validator)(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
            errors = list(validator.iter_errors(value))
            return describe(_clearest(errors), str(param_name or param["name"])) if errors else None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class OneLineJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Connexion's JSON body validator, listing every problem as ``body.<path>: problem``, and
    parsing with ``parse_json_body`` (hostile bodies are 400/415, never a 500)."""

    @property
    def _validator(self) -> Any:
        return with_ecma_patterns(Draft4RequestValidator)(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream: AsyncIterator[bytes], scope: Scope) -> Any:
        return parse_json_body(b"".join([chunk async for chunk in stream]), self._encoding)

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if body is None:
            result: dict[str, Any] | None = super()._validate(body)  # "must not be empty", or a null body
            return result
        lines = problem_lines(self._validator.iter_errors(body), "body")
        if not lines:
            return None
        raise BadRequest(None, details=lines[:MAX_PROBLEMS])


class PatternJSONResponseBodyValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    """Connexion's JSON response validator, reading ``pattern`` as ECMA-262 (as the fast path does)."""

    @property
    def validator(self) -> Any:
        return with_ecma_patterns(Draft4ResponseValidator)(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def parse_json_body(raw: bytes, encoding: str) -> Any:
    """Connexion's body parsing, with the inputs that made it fail with a 500 answered as 400/415.

    Nesting deeper than the interpreter's recursion limit, integers past Python's 4300-digit
    conversion limit and unpaired UTF-16 surrogates (``"\\ud800"``, which no text encoding can
    carry further) are malformed JSON for us; an unknown ``charset`` is an unsupported media type.
    A UTF-8 body is read by orjson when it reads it as ``json`` does (``authspec.jsonbody``); every
    other body, and every refusal, takes the path below.
    """
    if raw and encoding.lower() in _UTF8:
        quick = quick_decode(raw)
        if quick is not MISSING:
            return quick
    try:
        text = raw.decode(encoding)  # a UnicodeDecodeError is the renderer's 400, as before
    except LookupError:
        raise UnsupportedMediaType(f"The charset {encoding[:40]!r} is not supported; send UTF-8 JSON") from None
    if not text:
        return None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequestProblem(detail=str(exc)) from None  # as Connexion: the renderer says malformed_request
    except (RecursionError, ValueError):
        raise BadRequest("The request body is not valid JSON", code="malformed_request") from None
    if b"\\u" in raw:
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(
                "The request body is not valid JSON: a string holds an unpaired surrogate", code="malformed_request"
            ) from None
    return body


def problem_lines(errors: Iterable[ValidationError], where: str) -> list[str]:
    """One line per refused place of a value (its clearest problem), in the order of their paths."""
    by_place: dict[tuple[str, ...], list[ValidationError]] = {}
    for error in errors:
        by_place.setdefault(tuple(map(str, error.absolute_path)), []).append(error)
    return [describe(_clearest(found), where) for _place, found in sorted(by_place.items())]


#: When one value breaks several keywords, the line names the most telling one (a regex last).
_CLEAREST = ("required", "type", "format", "enum", "additionalProperties", "minLength", "maxLength")


def _clearest(errors: list[ValidationError]) -> ValidationError:
    """The one problem of a value to report: by ``_CLEAREST``, then jsonschema's relevance."""

    def rank(error: ValidationError) -> tuple[int, Any]:
        keyword = str(error.validator)
        return (_CLEAREST.index(keyword) if keyword in _CLEAREST else len(_CLEAREST), relevance(error))

    return min(errors, key=rank)


def one_line_validator_map() -> dict[str, Any]:
    """A ``validator_map`` with the one-line parameter and JSON body validators, and the response
    validator; all read ``pattern`` as ECMA-262."""
    return {
        "parameter": OneLineParameterValidator,
        "body": MediaTypeDict(
            {
                "*/*json": OneLineJSONRequestBodyValidator,
                "application/x-www-form-urlencoded": FormDataValidator,
                "multipart/form-data": MultiPartFormDataValidator,
            }
        ),
        "response": MediaTypeDict(
            {"*/*json": PatternJSONResponseBodyValidator, "text/plain": TextResponseBodyValidator}
        ),
    }
