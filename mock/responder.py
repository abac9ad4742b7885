"""Answers taken from the contract itself: an operation's examples, or data generated from its schema.

Used wherever the mock answers without its world: operations that have no stateful handler
("new operations for free"), ``Prefer: code= / example= / dynamic=true`` and one-shot scenarios.
An operation's *declared* statuses are its explicit response keys plus the statuses that the
examples of its ``default`` response show (413, 415, 500, ...). Example bodies are served as
written except ``timestamp``, which becomes the world's now; generated bodies are seeded by
operation and status (the same request gives the same data) and then made into a consistent
envelope (``isSuccess``, ``statusCode``, ``data``, ``errors``, ``errorCode``) before they are
checked against the response schema, so they are valid by construction or not served at all.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authspec.envelope import format_timestamp
from authspec.errors import error_for_status, generic_message
from authspec.spec import media_examples

from .generator import GenerationError, Generator

Operation = dict[str, Any]
JSON = "application/json"
_ENVELOPE_KEYS = frozenset({"isSuccess", "statusCode", "data", "errors", "errorCode", "timestamp"})


class ResponseChoiceError(Exception):
    """The requested status or example is not in the contract (rendered as 400 by callers)."""


@dataclass(frozen=True)
class Canned:
    """A response the contract describes: status, JSON body (or None) and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    source: str = "example"  # "example" or "generated"


def declared_statuses(operation: Operation) -> list[int]:
    """Explicit statuses plus those the ``default`` response's examples show, ascending."""
    found: set[int] = set()
    for key, response in operation.get("responses", {}).items():
        if key.isdigit():
            found.add(int(key))
        elif key == "default":
            for value in _examples(response).values():
                if isinstance(value, dict) and isinstance(value.get("statusCode"), int):
                    found.add(value["statusCode"])
    return sorted(found)


def success_status(operation: Operation) -> int:
    """The status an operation answers when all goes well: its lowest 2xx (200 if none)."""
    ok = [s for s in declared_statuses(operation) if 200 <= s < 300]
    return ok[0] if ok else 200


def _response(operation: Operation, status: int) -> tuple[dict[str, Any], bool]:
    """The response object of ``status`` and whether it is the ``default`` one."""
    responses = operation.get("responses", {})
    if str(status) in responses:
        return responses[str(status)], False
    if "default" in responses and status in declared_statuses(operation):
        return responses["default"], True
    raise ResponseChoiceError(
        f"{operation.get('operationId')} does not declare status {status}; "
        f"it declares {', '.join(map(str, declared_statuses(operation)))}"
    )


def _media(response: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    content: dict[str, Any] = response.get("content") or {}
    if not content:
        return None, {}
    if JSON in content:
        return JSON, content[JSON]
    media_type = next(iter(content))
    return media_type, content[media_type]


def _examples(response: dict[str, Any]) -> dict[str, Any]:
    return media_examples(_media(response)[1])


def example_names(operation: Operation) -> dict[int, list[str]]:
    """The named examples of each declared status."""
    names: dict[int, list[str]] = {}
    for status in declared_statuses(operation):
        names[status] = list(_status_examples(operation, status))
    return names


def _status_examples(operation: Operation, status: int) -> dict[str, Any]:
    response, is_default = _response(operation, status)
    examples = _examples(response)
    if is_default:
        examples = {n: v for n, v in examples.items() if isinstance(v, dict) and v.get("statusCode") == status}
    return examples


class Responder:
    """Builds ``Canned`` answers for the operations of one document; caches generated bodies."""

    def __init__(self) -> None:
        self._generated: dict[tuple[str, int], Any] = {}
        self._validators: dict[int, Any] = {}

    def answer(
        self,
        operation: Operation,
        now: datetime,
        *,
        status: int | None = None,
        example: str | None = None,
        dynamic: bool = False,
    ) -> Canned:
        """The contract's answer for ``operation``: an example unless ``dynamic`` or none exists."""
        if example is not None and status is None:
            status = self._status_of_example(operation, example)
        status = status if status is not None else success_status(operation)
        response, _ = _response(operation, status)
        examples = _status_examples(operation, status)
        if example is not None and example not in examples:
            available = ", ".join(examples) or "none"
            raise ResponseChoiceError(f"status {status} has no example named {example!r} (available: {available})")
        headers = self._headers(response, status)
        media_type, media = _media(response)
        if media_type is None:
            return Canned(status, None, headers)
        if media_type != JSON:
            headers["Content-Type"] = media_type
        if examples and not dynamic:
            body = copy.deepcopy(examples[example] if example is not None else next(iter(examples.values())))
            return Canned(status, _stamp(body, now), headers, "example")
        body = copy.deepcopy(self._generate(operation, status, media.get("schema") or {}))
        return Canned(status, _stamp(body, now), headers, "generated")

    def _status_of_example(self, operation: Operation, example: str) -> int:
        for status, names in sorted(example_names(operation).items(), key=lambda item: (item[0] >= 300, item[0])):
            if example in names:
                return status
        raise ResponseChoiceError(f"{operation.get('operationId')} has no example named {example!r}")

    def _generate(self, operation: Operation, status: int, schema: dict[str, Any]) -> Any:
        key = (str(operation.get("operationId")), status)
        if key in self._generated:
            return self._generated[key]
        problems: list[str] = []
        for attempt in range(8):
            try:
                value = Generator(f"{key[0]}:{status}:{attempt}").value(schema)
            except GenerationError as exc:
                problems.append(str(exc))
                continue
            value = _as_envelope(value, status)
            problems = self._problems(schema, value)
            if not problems:
                self._generated[key] = value
                return value
        raise ResponseChoiceError(f"cannot generate a valid {status} body for {key[0]}: {problems[:3]}")

    def _problems(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = self._validators.get(id(schema))
        if validator is None:
            from openapi_schema_validator import OAS30Validator, oas30_format_checker

            validator = OAS30Validator(schema, format_checker=oas30_format_checker)
            self._validators[id(schema)] = validator
        return [error.message for error in validator.iter_errors(value)]

    def _headers(self, response: dict[str, Any], status: int) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, header in (response.get("headers") or {}).items():
            schema = header.get("schema") or {}
            if "example" in header:
                value = header["example"]
            elif "example" in schema:
                value = schema["example"]
            else:
                value = Generator(f"{name}:{status}").value(schema)
            headers[name] = str(value)
        return headers


def _stamp(body: Any, now: datetime) -> Any:
    """An envelope's ``timestamp`` is the time of the answer, not the example's."""
    if isinstance(body, dict) and _ENVELOPE_KEYS <= body.keys():
        body["timestamp"] = format_timestamp(now)
    return body


def _as_envelope(value: Any, status: int) -> Any:
    """Make a generated envelope consistent with its status (the invariants a schema cannot say)."""
    if not (isinstance(value, dict) and _ENVELOPE_KEYS <= value.keys()):
        return value
    value["isSuccess"] = status < 400
    value["statusCode"] = status
    if status < 400:
        value["errors"] = []
        value["errorCode"] = None
    else:
        value["data"] = None
        value["errors"] = [generic_message(status), "Generated by the mock from the contract"]
        value["errorCode"] = error_for_status(status).code
    return value
