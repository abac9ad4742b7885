"""JSON once per request (``authspec.jsonbody``) and who validates responses (``AUTHSPEC_VALIDATE_RESPONSES``)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from authspec.mock.app import create_app as create_mock

from authspec.jsonbody import PARSED_BODY, Encoded, ParsedBodyRequest, decode, encode, encoded_value
from authspec.settings import Settings
from authspec.spec import load_bundle
from authspec.validation import parse_json_body

SETTING = "AUTHSPEC_VALIDATE_RESPONSES"


@pytest.mark.parametrize(
    ("env", "value", "app_default", "expected"),
    [
        ("dev", None, None, True),
        ("prod", None, None, False),
        ("dev", None, False, False),
        ("prod", True, None, True),
        ("dev", False, None, False),
        ("dev", True, False, True),
    ],
    ids=["dev-service", "prod-service", "mock", "forced-on-in-prod", "forced-off", "forced-on-in-the-mock"],
)
def test_the_setting_forces_response_validation_else_the_app_and_env_decide(
    monkeypatch: pytest.MonkeyPatch, env: str, value: bool | None, app_default: bool | None, expected: bool
) -> None:
    monkeypatch.delenv(SETTING, raising=False)
    settings = Settings.model_construct(env=env, validate_responses=value)
    assert settings.validates_responses(app_default) is expected


def test_an_empty_setting_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTING, "")
    assert Settings().validate_responses is None


def test_the_mock_does_not_validate_responses_unless_the_setting_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SETTING, raising=False)
    spec = load_bundle()
    assert create_mock(Settings(), spec=spec).authspec.validates_responses is False
    assert create_mock(Settings(validate_responses=True), spec=spec).authspec.validates_responses is True


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email":"a@example.com","n":1.5,"deep":[[{"x":null}]]}',
        b"123456789012345678901234567890",  # orjson would read a float
        b"NaN",
        b'"\\ud800"',  # a lone surrogate: json reads it, then parse_json_body refuses it
        b"\xef\xbb\xbf{}",
        b"[" * 300 + b"]" * 300,
        b'{"a":1,"a":2}',
        b'"caf\xc3\xa9 \\u00e9"',
    ],
)
def test_decoding_reads_what_json_reads(raw: bytes) -> None:
    assert repr(decode(raw)) == repr(json.loads(raw))


@pytest.mark.parametrize("raw", [b"{", b'{"a":1}x', b'"a\x01"', b"\xff", b"  "])
def test_decoding_refuses_what_json_refuses(raw: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        decode(raw)


def test_a_body_is_parsed_to_the_same_value_by_either_path() -> None:
    text = '{"email":"é@example.com","code":"123456"}'
    by_orjson = parse_json_body(text.encode(), "utf-8")
    assert by_orjson == parse_json_body(text.encode("latin-1"), "latin-1") == json.loads(text)


def test_an_answer_carries_the_value_it_encodes() -> None:
    data = {"isSuccess": True, "data": {"name": "Zoë", "n": [1, 2.5, None]}, "errors": []}
    encoded = encode(data)
    assert isinstance(encoded, Encoded) and encoded.data is data
    assert json.loads(encoded) == data
    assert "Zoë".encode() in encoded  # UTF-8, not \\u escapes
    assert encoded_value([b"", encoded, b""]) is data


def test_values_orjson_would_write_differently_are_left_to_connexions_encoder() -> None:
    for data in ({"amount": Decimal("1.5")}, {1: "a"}, {"big": 2**70}):
        encoded = encode(data)
        assert not isinstance(encoded, Encoded), data
        assert json.loads(encoded) == json.loads(json.dumps(data, default=float))


def test_the_handler_gets_the_body_the_validator_decoded_without_reading_it_again() -> None:
    body = {"refreshToken": "x"}

    async def no_second_read() -> dict[str, Any]:
        raise AssertionError("the body was read again")

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")], PARSED_BODY: body}
    request = ParsedBodyRequest(scope, no_second_read)
    assert asyncio.run(request.json()) is body
    assert asyncio.run(request.files()) == {}
