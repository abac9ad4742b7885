"""Schema-driven sample data: a value for an OpenAPI 3.0 schema, deterministic for a given seed.

The mock answers operations that have no stateful handler (and ``Prefer: dynamic=true``) with
data generated from the response schema. This generator covers what OpenAPI 3.0 schemas use:
types, ``nullable``, ``enum``, ``allOf`` (merged), ``oneOf``/``anyOf`` (one branch), object
properties, array bounds, string lengths, ``pattern`` (strings built from the regex itself),
the common formats (date-time, date, email, uuid, uri, ipv4, hostname) and numeric bounds.
It is seeded (``random.Random``), so the same operation and status give the same data, and it
needs nothing outside the standard library. Callers validate what it returns (``responder``).
"""

from __future__ import annotations

import math
import random
import re
import string
import uuid
from datetime import UTC, datetime, timedelta
from re import _constants as sre_constants
from re import _parser as sre_parse
from typing import Any

from authspec.envelope import format_timestamp

Schema = dict[str, Any]

_EPOCH = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
_WORDS = ("ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "john", "katherine", "linus")
_MAX_DEPTH = 12


class GenerationError(Exception):
    """The schema asks for something this generator cannot build."""


def merge_all_of(schemas: list[Schema]) -> Schema:
    """One schema equivalent (for generation) to ``allOf: schemas``."""
    merged: Schema = {}
    for schema in schemas:
        if "allOf" in schema:
            schema = {**{k: v for k, v in schema.items() if k != "allOf"}, **merge_all_of(schema["allOf"])}
        for key, value in schema.items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = merge_all_of([props[name], sub]) if name in props else sub
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key in ("minimum", "minLength", "minItems", "minProperties") and key in merged:
                merged[key] = max(merged[key], value)
            elif key in ("maximum", "maxLength", "maxItems", "maxProperties") and key in merged:
                merged[key] = min(merged[key], value)
            elif key == "enum" and "enum" in merged:
                merged["enum"] = [v for v in merged["enum"] if v in value]
            elif key == "nullable" and "nullable" in merged:
                merged["nullable"] = merged["nullable"] and value
            else:
                merged[key] = value
    return merged


class Generator:
    """Builds sample values; one instance per response, seeded."""

    def __init__(self, seed: str | int, now: datetime | None = None) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - sample data, deterministic on purpose
        self.now = now or _EPOCH

    def value(self, schema: Schema, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise GenerationError("the schema nests too deeply")
        if "allOf" in schema:
            return self.value(merge_all_of([schema]), depth + 1)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                rest = {k: v for k, v in schema.items() if k != key}
                branch = self.rng.choice(schema[key])
                return self.value(merge_all_of([rest, branch]) if rest else branch, depth + 1)
        if "enum" in schema:
            choices = [v for v in schema["enum"] if v is not None] or schema["enum"]
            if not choices:
                raise GenerationError("an enum without values")
            return self.rng.choice(choices)
        kind = schema.get("type") or _infer_type(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema)
        if kind == "integer":
            return int(self._number(schema, integer=True))
        if kind == "number":
            return self._number(schema, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if schema.get("nullable"):
            return None
        return self.rng.choice(["sample", 1, True])  # `{}`: anything goes

    def _object(self, schema: Schema, depth: int) -> dict[str, Any]:
        props: dict[str, Schema] = schema.get("properties", {})
        result = {name: self.value(sub, depth + 1) for name, sub in props.items()}
        for name in schema.get("required", []):
            if name not in result:
                result[name] = self.word()
        low = schema.get("minProperties", 0)
        extra = schema.get("additionalProperties", True)
        while len(result) < low and extra is not False:
            result[f"{self.word()}{len(result)}"] = self.value(extra if isinstance(extra, dict) else {"type": "string"})
        high = schema.get("maxProperties")
        if high is not None and len(result) > high:
            required = set(schema.get("required", []))
            for name in [n for n in result if n not in required][: len(result) - high]:
                del result[name]
        return result

    def _array(self, schema: Schema, depth: int) -> list[Any]:
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", max(low, 2))
        count = self.rng.randint(low, max(low, min(high, low + 2))) if high > 0 else 0
        count = max(count, min(1, high))  # one element shows the shape, when allowed
        items: Schema = schema.get("items", {})
        values: list[Any] = []
        for _ in range(count * 4):
            if len(values) == count:
                break
            candidate = self.value(items, depth + 1)
            if not schema.get("uniqueItems") or candidate not in values:
                values.append(candidate)
        return values

    def _string(self, schema: Schema) -> str:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength", max(low, 64))
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        text = self._formatted(fmt) if fmt else None
        if text is None or (pattern and not re.search(pattern, text)):
            if pattern:
                text = self.from_regex(pattern, target=max(low, 1), cap=high)
            else:
                text = self.word()
        if len(text) < low:
            text += "".join(self.rng.choice(string.ascii_lowercase) for _ in range(low - len(text)))
        return text[:high] if len(text) > high and not pattern and not fmt else text

    def _formatted(self, fmt: str) -> str | None:
        if fmt == "date-time":
            return format_timestamp(self.now - timedelta(seconds=self.rng.randint(0, 30 * 86400)))
        if fmt == "date":
            return (self.now - timedelta(days=self.rng.randint(0, 365))).date().isoformat()
        if fmt == "email":
            return f"{self.word()}{self.rng.randint(1, 999)}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt in ("uri", "url"):
            return f"https://example.com/{self.word()}"
        if fmt == "ipv4":
            return f"203.0.113.{self.rng.randint(1, 254)}"
        if fmt == "ipv6":
            return f"2001:db8::{self.rng.randint(1, 0xFFFF):x}"
        if fmt == "hostname":
            return f"{self.word()}.example.com"
        if fmt == "byte":
            return "c2FtcGxl"
        return None

    def _number(self, schema: Schema, *, integer: bool) -> float:
        step = 1 if integer else 0.01
        minimum: float | None = schema.get("minimum")
        maximum: float | None = schema.get("maximum")
        if schema.get("exclusiveMinimum") and minimum is not None:
            minimum += step
        if schema.get("exclusiveMaximum") and maximum is not None:
            maximum -= step
        low: float = minimum if minimum is not None else (maximum - 1000 if maximum is not None else 0)
        high: float = maximum if maximum is not None else low + 1000
        if integer:
            return self.rng.randint(math.ceil(low), math.floor(high))
        return round(self.rng.uniform(low, high), 2)

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    # -- strings from a regular expression -------------------------------------------------------

    def from_regex(self, pattern: str, *, target: int = 1, cap: int = 64) -> str:
        """A string that ``re.search(pattern, ...)`` accepts, near ``target`` characters long."""
        try:
            parsed = sre_parse.parse(pattern)
        except re.error as exc:
            raise GenerationError(f"pattern {pattern!r}: {exc}") from None
        groups: dict[int, str] = {}
        return self._emit(list(parsed), groups, target, cap)

    def _emit(self, items: list[Any], groups: dict[int, str], target: int, cap: int) -> str:
        out: list[str] = []
        for op, arg in items:
            out.append(self._emit_one(op, arg, groups, target, cap))
        return "".join(out)

    def _emit_one(self, op: Any, arg: Any, groups: dict[int, str], target: int, cap: int) -> str:
        c = sre_constants
        if op is c.LITERAL:
            return chr(arg)
        if op is c.NOT_LITERAL:
            return "a" if chr(arg) != "a" else "b"
        if op is c.ANY:
            return self.rng.choice(string.ascii_letters)
        if op is c.IN:
            return self._from_class(arg)
        if op is c.CATEGORY:
            return self._from_class([(c.CATEGORY, arg)])
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            if high is c.MAXREPEAT:
                high = max(low, min(cap, target))
            count = max(low, min(high, target if target > low else low + self.rng.randint(0, 2)))
            return "".join(self._emit(list(sub), groups, 1, cap) for _ in range(count))
        if op is c.SUBPATTERN:
            group, _add, _del, sub = arg
            text = self._emit(list(sub), groups, target, cap)
            if group is not None:
                groups[group] = text
            return text
        if op is c.BRANCH:
            return self._emit(list(self.rng.choice(arg[1])), groups, target, cap)
        if op is c.GROUPREF:
            return groups.get(arg, "")
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            return ""
        raise GenerationError(f"unsupported regular expression construct {op}")

    def _from_class(self, items: list[Any]) -> str:
        c = sre_constants
        negate = any(op is c.NEGATE for op, _ in items)
        pool: list[str] = []
        for op, arg in items:
            if op is c.LITERAL:
                pool.append(chr(arg))
            elif op is c.RANGE:
                pool.extend(chr(x) for x in range(arg[0], min(arg[1], arg[0] + 200) + 1))
            elif op is c.CATEGORY:
                pool.extend(_CATEGORIES.get(str(arg), string.ascii_letters))
        if negate:
            pool = [ch for ch in string.ascii_letters + string.digits if ch not in pool]
        if not pool:
            raise GenerationError("an empty character class")
        return self.rng.choice(pool)


_CATEGORIES = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_NOT_DIGIT": string.ascii_letters,
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits,
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_NOT_WORD": "-.",
}


def _infer_type(schema: Schema) -> str | None:
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if any(k in schema for k in ("pattern", "format", "minLength", "maxLength")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum")):
        return "number"
    return None
