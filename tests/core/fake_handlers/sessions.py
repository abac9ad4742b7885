"""sessions-tag test handlers: logout reports the scope it received, proving the body was parsed."""

from __future__ import annotations

from typing import Any

from authspec.clock import SystemClock
from authspec.envelope import success

SCOPES = {"all": 3, "others": 2, "current": 1}


async def logout(user: str, body: dict[str, Any]) -> Any:
    assert isinstance(body, dict), f"the handler got {type(body).__name__}, not the parsed body"
    return success({"revokedSessions": SCOPES[body.get("scope", "all")]}, SystemClock().now()), 200
