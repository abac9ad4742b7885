"""The response envelope: building success and error bodies, and the timestamp format.

Every JSON response under ``/api/v1`` is ``{isSuccess, statusCode, data, errors, errorCode,
timestamp}``; this module is the only place that shapes it, so the real service, the mock and
the error renderer cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from authspec.errors import AuthspecError
from authspec.jsonbody import encode

Envelope = dict[str, Any]


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a ``Z`` suffix, e.g. ``2026-01-15T10:30:00.000Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def success(data: Any, now: datetime, status: int = 200) -> Envelope:
    """The envelope of a successful response."""
    return {
        "isSuccess": True,
        "statusCode": status,
        "data": data,
        "errors": [],
        "errorCode": None,
        "timestamp": format_timestamp(now),
    }


def failure(status: int, code: str, messages: list[str], now: datetime) -> Envelope:
    """The envelope of an error response; ``messages[0]`` is the generic message of the status."""
    return {
        "isSuccess": False,
        "statusCode": status,
        "data": None,
        "errors": messages,
        "errorCode": code,
        "timestamp": format_timestamp(now),
    }


def from_error(error: AuthspecError, now: datetime) -> Envelope:
    """The envelope of a raised ``AuthspecError``."""
    return failure(error.status, error.code, error.messages, now)


def dumps(envelope: Envelope) -> bytes:
    """Serialise an envelope compactly as UTF-8 JSON, once (orjson; ``authspec.jsonbody.encode``)."""
    return encode(envelope)
