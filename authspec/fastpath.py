"""Connexion 3.3 without its per-request rework: the app class and the pieces ``create_app`` plugs in.

Connexion redoes, on every request, work that depends only on the operation: it builds a
jsonschema validator for the request body and for the response, a URI parser, a parameter
validator, a ``MediaTypeDict`` of the accepted types, and it re-decorates the handler (with
``inspect.signature``) before calling it. Everything here goes through Connexion's own extension
points and keeps its behaviour; it only does each piece of that work once:

- ``compiled_validator_map`` (Connexion's ``validator_map``): JSON bodies and responses are
  checked by a jsonschema-rs validator compiled once per schema. It only ever says "valid": when
  it finds a problem, or cannot judge a value, the jsonschema validator Connexion uses decides
  (worded one line per problem by ``authspec.validation``, reading ``pattern`` as jsonschema-rs
  does), so what is accepted stays Connexion's, and a value jsonschema-rs refuses stays refused.
- ``FastRequestValidationMiddleware`` / ``FastResponseValidationMiddleware`` (the middleware
  list): the per-operation and per-content-type plans are computed once and kept.
- ``FastAsyncApp``: the handler of each operation is decorated once, not per request, and JSON is
  decoded and encoded once per request (``authspec.jsonbody``: the validator's decoded body goes
  to the handler, answers are encoded by orjson and validated from the value they encode), and
  an operation's body definitions are worked out once and an urlencoded form parsed once
  (``authspec.formbody``; a form the compiled validator accepts skips Connexion's validator).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from connexion import AsyncApp, utils
from connexion.apps.asynchronous import AsyncApi, AsyncOperation
from connexion.context import _operation as current_operation
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.operations import OpenAPIOperation
from connexion.validators import (
    MultiPartFormDataValidator,
    TextResponseBodyValidator,
)
from starlette.types import Receive, Scope, Send

from authspec.formbody import OnceBodyOperation, OnceFormDataValidator
from authspec.jsonbody import MISSING, PARSED_BODY, OnceJsonifier, ParsedBodyRequest, encoded_value
from authspec.spec import SpecError, inline_schema
from authspec.validation import OneLineJSONRequestBodyValidator, PatternJSONResponseBodyValidator

log = logging.getLogger("authspec.fastpath")

#: Bounds on the caches keyed by request input (content types): past them, work is redone.
MAX_PLANS = 32
_NOT_COMPILED = object()


# -- compiled JSON validators (validator_map) ------------------------------------------------------
def _oas30_to_draft4(node: Any) -> Any:
    """A copy of an OpenAPI 3.0 schema as plain Draft 4: ``nullable`` becomes a ``null`` type/enum member.

    Connexion lets ``None`` through the ``type`` and ``enum`` keywords of a nullable schema and
    nowhere else; adding ``null`` to exactly those two keywords has the same effect.
    """
    if isinstance(node, list):
        return [_oas30_to_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _oas30_to_draft4(value) for key, value in node.items()}
    if out.get("nullable") is True or out.get("x-nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _uses(node: Any, keys: frozenset[str]) -> bool:
    if isinstance(node, dict):
        return any(key in keys for key in node) or any(_uses(value, keys) for value in node.values())
    if isinstance(node, list):
        return any(_uses(item, keys) for item in node)
    return False


#: Keywords whose Connexion semantics a plain Draft 4 validator does not have: such schemas keep
#: Connexion's validator ($ref: one left after inlining the document's named schemas).
_UNCOMPILED_KEYWORDS = frozenset({"$ref", "writeOnly", "x-writeOnly"})


def compile_schema(schema: Mapping[str, Any]) -> Any | None:
    """A jsonschema-rs validator for ``schema``, or None when it has to stay with Connexion's.

    Connexion hands a schema with the document's ``components`` beside it; refs to its named
    schemas (``#/components/schemas/X``) are inlined from there before compiling.
    """
    body: Any = {key: value for key, value in schema.items() if key != "components"}
    if _uses(body, frozenset({"$ref"})):
        try:
            body = inline_schema(body, {"components": schema.get("components") or {}})
        except SpecError:  # a schema that refers to itself: Connexion's validator decides
            return None
    if _uses(body, _UNCOMPILED_KEYWORDS):
        return None
    try:
        return jsonschema_rs.Draft4Validator(_oas30_to_draft4(body), validate_formats=True)
    except Exception as exc:  # a pattern jsonschema-rs cannot compile, say: Connexion's validator decides
        log.debug("schema left to Connexion's validator: %s", exc)
        return None


class SchemaCache:
    """Compiled validators by schema object. Connexion hands out the same schema dict for an
    operation on every request, so the identity is the key (the dict is kept alive with it)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Mapping[str, Any], Any]] = {}

    def get(self, schema: Mapping[str, Any]) -> Any | None:
        entry = self._entries.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        compiled = compile_schema(schema)
        self._entries[id(schema)] = (schema, compiled)
        return compiled


def _accepts(compiled: Any, body: Any) -> bool:
    """True when the compiled validator accepts ``body``; False when it refuses or cannot tell."""
    if compiled is None:
        return False
    try:
        return bool(compiled.is_valid(body))
    except Exception:  # values it cannot convert (lone surrogates, huge integers): ask Connexion's
        return False


def compiled_validator_map() -> dict[str, Any]:
    """A ``validator_map`` for one app: JSON bodies and responses checked by compiled validators."""
    cache = SchemaCache()

    class CompiledJSONRequestBodyValidator(OneLineJSONRequestBodyValidator):
        async def _parse(self, stream: Any, scope: Scope) -> Any:
            body = await super()._parse(stream, scope)
            scope[PARSED_BODY] = body  # the handler gets this value, not a second decoding
            return body

        def _validate(self, body: Any) -> dict[str, Any] | None:
            if body is not None and _accepts(cache.get(self._schema), body):
                return None
            result: dict[str, Any] | None = super()._validate(body)  # jsonschema decides, one line per problem
            return result

    class CompiledFormDataValidator(OnceFormDataValidator):
        def _validate(self, body: Any) -> dict[str, Any] | None:
            # Accepted at once only without a field the schema does not name (what strict
            # validation refuses); anything else gets Connexion's checks, as before.
            names = self._schema.get("properties") or {}
            if isinstance(body, dict) and all(name in names for name in body):
                if _accepts(cache.get(self._schema), body):
                    return None
            result: dict[str, Any] | None = super()._validate(body)
            return result

    class CompiledJSONResponseBodyValidator(PatternJSONResponseBodyValidator):
        _chunks: list[bytes] | None = None

        def _parse(self, stream: Any) -> Any:
            chunks = list(stream)
            value = encoded_value(chunks)
            if value is MISSING:
                return super()._parse(iter(chunks))
            self._chunks = chunks  # the value the bytes were encoded from: nothing to decode
            return value

        def _validate(self, body: Any) -> None:
            if _accepts(cache.get(self._schema), body):
                return
            if self._chunks is not None:  # not accepted as encoded: the bytes decide, as before
                body = super()._parse(iter(self._chunks))
                if _accepts(cache.get(self._schema), body):
                    return
            super()._validate(body)

    return {
        "body": MediaTypeDict(
            {
                "*/*json": CompiledJSONRequestBodyValidator,
                "application/x-www-form-urlencoded": CompiledFormDataValidator,
                "multipart/form-data": MultiPartFormDataValidator,
            }
        ),
        "response": MediaTypeDict(
            {"*/*json": CompiledJSONResponseBodyValidator, "text/plain": TextResponseBodyValidator}
        ),
    }


# -- request and response validation with per-operation plans ----------------------------------------
def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The first Content-Type header, raw (Connexion also takes the first)."""
    for key, value in headers:
        if len(key) == 12 and key.lower() == b"content-type":
            return value
    return None


class _RequestPlan:
    """What validating a body of one content type needs: the validator, if any (built once)."""

    __slots__ = ("validator",)

    def __init__(self, validator: Any | None) -> None:
        self.validator = validator


class FastRequestValidationOperation(RequestValidationOperation):  # type: ignore[misc]
    """Connexion's request validation with the parameter validator and body plans built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._planned_parameters: Any = None
        self._plans: dict[bytes | None, _RequestPlan] = {}

    def _parameter_validator(self) -> Any:
        if self._planned_parameters is None:
            op = self._operation
            uri_parser = op._uri_parser_class(op.parameters, op.body_definition())
            self._planned_parameters = self._validator_map["parameter"](
                op.parameters,
                uri_parser=uri_parser,
                strict_validation=self.strict_validation,
                security_query_params=self.security_query_params,
            )
        return self._planned_parameters

    def _plan(self, headers: list[tuple[bytes, bytes]]) -> _RequestPlan:
        """As Connexion decides per request (and raises the same 415), once per content type."""
        key = _content_type(headers)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        mime_type, encoding = self.extract_content_type(headers)
        self.validate_mime_type(mime_type)
        validator = None
        schema = self._operation.body_schema(mime_type)
        if schema:
            try:
                body_validator = self._validator_map["body"][mime_type]
            except KeyError:
                body_validator = None
            if body_validator is None:
                log.info("Skipping validation. No validator registered for content type: %s.", mime_type)
            else:
                op = self._operation
                validator = body_validator(
                    schema=schema,
                    required=op.request_body.get("required", False),
                    nullable=utils.is_nullable(op.body_definition(mime_type)),
                    encoding=encoding,
                    strict_validation=self.strict_validation,
                    uri_parser=op.uri_parser_class(op.parameters, op.body_definition()),
                )
        plan = _RequestPlan(validator)
        if len(self._plans) < MAX_PLANS:
            self._plans[key] = plan
        return plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._parameter_validator().validate(scope)
        plan = self._plan(scope["headers"])
        if plan.validator is not None:
            receive, scope = await plan.validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


class FastRequestValidationAPI(RequestValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> FastRequestValidationOperation:
        return FastRequestValidationOperation(
            self.next_app,
            operation=operation,
            strict_validation=self.strict_validation,
            validator_map=self.validator_map,
        )


class FastRequestValidationMiddleware(RequestValidationMiddleware):  # type: ignore[misc]
    api_cls = FastRequestValidationAPI


@dataclass(frozen=True, slots=True)
class _ResponsePlan:
    """What validating a response of one status and content type needs (built once)."""

    definition: dict[str, Any]
    encoding: str
    nullable: bool
    schema: Any
    validator_cls: Any


class FastResponseValidationOperation(ResponseValidationOperation):  # type: ignore[misc]
    """Connexion's response validation with the plan of each (status, content type) kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[int, bytes | None], _ResponsePlan] = {}

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        # Connexion drops every parameter but the charset, so a declared `text/plain; version=0.0.4`
        # (GET /metrics) could never match; a sent type the operation declares is kept whole.
        mime_type, encoding = super().extract_content_type(headers)
        sent = utils.extract_content_type(headers) or ""
        whole = "; ".join(p.strip() for p in sent.split(";") if not p.strip().lower().startswith("charset="))
        if ";" in whole and whole.lower() in (p.lower() for p in self._operation.produces):
            return whole, encoding
        return mime_type, encoding

    def _plan(self, status: int, headers: list[tuple[bytes, bytes]]) -> _ResponsePlan:
        key = (status, _content_type(headers))
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        mime_type, encoding = self.extract_content_type(headers)
        if status < 400:
            self.validate_mime_type(mime_type)  # raises for a wrong type: such plans are not kept
        code = str(status)
        definition = self._operation.response_definition(code, mime_type)
        try:
            validator_cls = self._validator_map["response"][mime_type]
        except KeyError:
            validator_cls = None
        plan = _ResponsePlan(
            encoding=encoding,
            definition=definition,
            validator_cls=validator_cls,
            schema=self._operation.response_schema(code, mime_type) if validator_cls is not None else None,
            nullable=utils.is_nullable(definition),
        )
        if len(self._plans) < MAX_PLANS:
            self._plans[key] = plan
        return plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped_send(message: Any) -> None:
            nonlocal send
            if message["type"] == "http.response.start":
                headers = message["headers"]
                plan = self._plan(message["status"], headers)
                self.validate_required_headers(headers, plan.definition)
                if plan.validator_cls is not None:
                    validator = plan.validator_cls(
                        scope, schema=plan.schema, nullable=plan.nullable, encoding=plan.encoding
                    )
                    send = validator.wrap_send(send)
            await send(message)

        await self.next_app(scope, receive, wrapped_send)


class FastResponseValidationAPI(ResponseValidationAPI):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> Any:
        if self.validate_responses:
            return FastResponseValidationOperation(self.next_app, operation=operation, validator_map=self.validator_map)
        return self.next_app


class FastResponseValidationMiddleware(ResponseValidationMiddleware):  # type: ignore[misc]
    api_cls = FastResponseValidationAPI


#: Connexion's default stack with the two validation layers replaced by their planned versions.
_REPLACED = {
    RequestValidationMiddleware: FastRequestValidationMiddleware,
    ResponseValidationMiddleware: FastResponseValidationMiddleware,
}
FAST_MIDDLEWARES = [_REPLACED.get(m, m) for m in ConnexionMiddleware.default_middlewares]


# -- handlers decorated once ------------------------------------------------------------------------
class _OnceDecorator(StarletteDecorator):  # type: ignore[misc]
    """Connexion's Starlette decorator, with the decoration and the URI parser made once.

    Connexion's wrapper builds the URI parser and re-decorates the handler (parameter and response
    decorators, ``inspect.signature``) on every call; neither depends on the request.
    """

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parsers: dict[int, Any] = {}

        @functools.wraps(function)
        async def wrapper(scope: Scope, receive: Receive) -> Any:
            op = current_operation.get()
            parser = parsers.get(id(op))
            if parser is None or parser[0] is not op:
                parser = parsers[id(op)] = (op, op.uri_parser_class(op.parameters, op.body_definition()))
            return await decorated(ParsedBodyRequest(scope, receive, uri_parser=parser[1]))

        return wrapper


class FastAsyncOperation(AsyncOperation):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decorated = _OnceDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        response = await self._decorated(scope, receive)
        return await response(scope, receive, send)


class FastAsyncApi(AsyncApi):  # type: ignore[misc]
    def make_operation(self, operation: Any) -> FastAsyncOperation:
        return FastAsyncOperation(
            operation.function,
            jsonifier=self.jsonifier,
            operation_id=operation.operation_id,
            pythonic_params=self.pythonic_params,
        )


class FastAsyncApp(AsyncApp):  # type: ignore[misc]
    """``AsyncApp`` on ``FAST_MIDDLEWARES`` whose operations are decorated once."""

    def __init__(self, import_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("middlewares", list(FAST_MIDDLEWARES))
        kwargs.setdefault("jsonifier", OnceJsonifier())
        super().__init__(import_name, **kwargs)
        self._middleware_app.api_cls = FastAsyncApi

    def add_api(self, specification: Any, **kwargs: Any) -> Any:
        """As Connexion's; every layer's operations then work out their body definitions once."""
        api = super().add_api(specification, **kwargs)
        for added in self.middleware.apis:  # the one Specification every layer builds operations from
            if added.specification.operation_cls is OpenAPIOperation:
                added.specification.operation_cls = OnceBodyOperation
        return api

    def add_middleware(
        self,
        middleware_class: type,
        position: MiddlewarePosition = MiddlewarePosition.BEFORE_CONTEXT,
        **options: Any,
    ) -> None:
        """As Connexion's, where a position names a layer this app replaced by a subclass."""
        stack = self.middleware.middlewares
        if self.middleware.middleware_stack is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        for index, layer in enumerate(stack):
            layer = layer.func if isinstance(layer, functools.partial) else layer
            if isinstance(layer, type) and issubclass(layer, position.value):
                stack.insert(index, functools.partial(middleware_class, **options))
                return
        raise ValueError(f"Could not insert middleware at position {position.name}.")
