"""auth-tag test handlers: getCurrentUser answers per the token's "sub"; verify raises errors."""

from __future__ import annotations

from typing import Any

from authspec import errors
from authspec.clock import SystemClock
from authspec.envelope import success


async def get_current_user(user: str, token_info: dict[str, Any]) -> Any:
    if user == "forbidden":
        raise errors.Forbidden("The refresh token belongs to another user")
    if user == "limited":
        raise errors.TooManyRequests("Try again in 30 seconds", retry_after=30)
    if user == "crash":
        raise RuntimeError("database password is hunter2")
    if user == "nonconforming":
        return {"isSuccess": True, "statusCode": 200, "data": {"secretField": 1}}, 200
    data = {
        "id": "0b5e4a52-6f1e-4c3a-9d43-2a1f3c7e8b90",
        "email": "ada@example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "createdAt": "2026-01-10T08:00:00.000Z",
    }
    return success(data, SystemClock().now()), 200


async def complete_registration(body: dict[str, Any]) -> Any:
    raise errors.Conflict("An account already exists for this email", code="already_registered")
