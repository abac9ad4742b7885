"""One reading of the contract's ``pattern``s, whichever validator checks a value, and the rules
that keep each pattern portable.

The fast path checks bodies with jsonschema-rs, whose regular expressions read as ECMA-262 says;
when it refuses a value (or for parameters, and in the house rules) a Python jsonschema validator
decides, and Python's ``re`` reads the same source differently: ``$`` also matches before a final
``\\n`` (so ``"Laptop\\n"`` passed ``^[^\\x00-\\x1f]+$``), and ``\\d``, ``\\w``, ``\\s`` and ``\\b`` span
Unicode instead of ASCII. Two things make every validator agree:

- ``with_ecma_patterns`` gives a Python validator class a ``pattern`` keyword that asks the
  ECMA-262 engine (jsonschema-rs, compiled once per pattern); ``authspec.validation`` and the house
  rules use it, so a value jsonschema-rs refuses is refused everywhere;
- ``pattern_problems`` (an ``authspec check`` rule) keeps the patterns themselves portable, for
  every other consumer of the document (generated clients, Schemathesis, other validators): each
  compiles in both engines, closes with ``(?!\\n)$`` instead of a bare ``$`` (the end of the string in
  both; ECMA-262 has no ``\\z``), spells its classes out instead of ``\\d``/``\\w``/``\\s``/``\\b``, sets no
  inline flags, and gives both engines' verdict on its example, with and without a trailing ``\\n``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
from jsonschema import ValidationError  # type: ignore[import-untyped]
from jsonschema.validators import extend  # type: ignore[import-untyped]

try:  # Python 3.11+ names; the old ones warn
    import re._constants as sre  # type: ignore[import-not-found]
    import re._parser as sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_constants as sre
    import sre_parse

#: The closing anchor that means "end of the string" in Python ``re`` and ECMA-262 alike.
PORTABLE_END = r"(?!\n)$"
_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII


@functools.lru_cache(maxsize=512)
def _ecma(pattern: str) -> Any | None:
    """jsonschema-rs' validator of ``pattern`` alone, or None when it cannot compile it."""
    try:
        return jsonschema_rs.Draft4Validator({"pattern": pattern})
    except Exception:
        return None


def ecma_search(pattern: str, value: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``value``, as ECMA-262 (and jsonschema-rs) reads it.

    A pattern jsonschema-rs cannot compile is read by Python's ``re`` (the house rules refuse such
    patterns in the contract); a value it cannot take (a lone surrogate) does not match.
    """
    compiled = _ecma(pattern)
    if compiled is None:
        return re.search(pattern, value) is not None
    try:
        return bool(compiled.is_valid(value))
    except Exception:
        return False


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:  # noqa: ARG001
    if validator.is_type(instance, "string") and not ecma_search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def with_ecma_patterns(cls: Any) -> Any:
    """``cls`` (a jsonschema validator class) with ``pattern`` read as ECMA-262."""
    return extend(cls, {"pattern": _pattern})


# -- the house rule ---------------------------------------------------------------------------------
def pattern_problems(pattern: str, example: Any = None) -> list[str]:
    """Why ``pattern`` could mean different things to different validators (empty: it cannot)."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        return [f"does not compile in Python: {exc}"]
    problems = [] if _ecma(pattern) is not None else ["does not compile as ECMA-262 (jsonschema-rs)"]
    if parsed.state.flags & _FLAGS:
        problems.append("sets inline flags, which ECMA-262 has not")
    problems += sorted(set(_node_problems(list(parsed))))
    if not problems and isinstance(example, str):
        for value in (example, example + "\n"):
            python, ecma = re.search(pattern, value) is not None, ecma_search(pattern, value)
            if python != ecma:
                problems.append(f"{value!r} is {'accepted' if python else 'refused'} by Python, not by ECMA-262")
    return problems


def _node_problems(nodes: list[Any]) -> Iterator[str]:
    for index, (op, arg) in enumerate(nodes):
        if op is sre.AT and arg is sre.AT_END and (index == 0 or not _is_not_newline(nodes[index - 1])):
            yield f"a bare $ also matches before a final newline in Python; close with {PORTABLE_END}"
        elif op is sre.AT and arg in (sre.AT_BEGINNING_STRING, sre.AT_END_STRING):
            yield r"\A and \Z are Python's anchors; ECMA-262 has neither (use ^ and (?!\n)$)"
        elif op is sre.AT and arg in (sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY):
            yield r"\b and \B differ between Python (Unicode) and ECMA-262 (ASCII); spell the class out"
        elif op is sre.CATEGORY:
            yield r"\d, \w and \s differ between Python (Unicode) and ECMA-262; spell the class out"
        elif op is sre.IN:
            yield from _node_problems(list(arg))
        elif op is sre.SUBPATTERN:
            if arg[1] or arg[2]:
                yield "sets inline flags, which ECMA-262 has not"
            yield from _node_problems(list(arg[3]))
        elif op is sre.BRANCH:
            for branch in arg[1]:
                yield from _node_problems(list(branch))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            yield from _node_problems(list(arg[2]))
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            yield from _node_problems(list(arg[1]))
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            yield "an atomic group is not ECMA-262"


def _is_not_newline(node: Any) -> bool:
    """Whether ``node`` is the lookahead ``(?!\\n)``."""
    op, arg = node
    return bool(op is sre.ASSERT_NOT and arg[0] == 1 and list(arg[1]) == [(sre.LITERAL, 10)])


def check_patterns(spec: dict[str, Any]) -> list[str]:
    """``pattern_problems`` of every ``pattern`` in a bundled document, once where it is written."""
    problems = []
    for where, pattern, example in _iter_patterns(spec, ""):
        problems += [f"{where}: pattern {pattern!r} {problem}" for problem in pattern_problems(pattern, example)]
    return problems


def _iter_patterns(node: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield where or "/", node["pattern"], node.get("example")
        for key, value in node.items():
            yield from _iter_patterns(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _iter_patterns(value, f"{where}/{index}")
