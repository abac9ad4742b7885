"""Urlencoded forms parsed once: the quick reading equals Starlette's, and definitions are kept."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from starlette.datastructures import Headers
from starlette.formparsers import FormParser

from authspec.formbody import QuickFormParser, quick_fields

HEADERS = Headers({"content-type": "application/x-www-form-urlencoded"})
SAMPLES = [
    b"token=abc",
    b"token=abc&token_type_hint=access_token",
    b"token=a%20b+c&x=%E2%82%AC",
    b"token=abc==&token=def",
    b"a=&b=",
    b"%zz=1",
    b"",
    b"token",
    b"token=abc&",
    b"&token=abc",
    b"a=1&&b=2",
    b"a=1;b=2",
    b"t=\xe9\xff",
    b"=x",
]


async def _stream(raw: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), size):
        yield raw[start : start + size]
    yield b""


def _parse(cls: type[FormParser], raw: bytes, size: int = 7) -> list[tuple[str, object]]:
    return list(asyncio.run(cls(HEADERS, _stream(raw, size)).parse()).multi_items())


@pytest.mark.parametrize("raw", SAMPLES)
def test_quick_parser_reads_a_form_as_starlettes_parser(raw: bytes) -> None:
    assert _parse(QuickFormParser, raw) == _parse(FormParser, raw)


def test_quick_parser_agrees_with_starlette_on_random_forms() -> None:
    chosen = random.Random(15)
    alphabet = b"ab=&%+2E;~-.\xe9 "
    for _ in range(2000):
        raw = bytes(chosen.choice(alphabet) for _ in range(chosen.randint(0, 14)))
        assert _parse(QuickFormParser, raw, chosen.randint(1, 5)) == _parse(FormParser, raw), raw


def test_forms_past_starlettes_limits_go_to_starlettes_parser() -> None:
    assert quick_fields(b"&".join([b"a=1"] * 3), max_fields=2, max_part_size=1024) is None
    assert quick_fields(b"a=" + b"1" * 100, max_fields=10, max_part_size=50) is None
    assert quick_fields(b"a=1&b=2", max_fields=10, max_part_size=50) == [("a", "1"), ("b", "2")]
