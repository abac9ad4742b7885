"""Operations of the ``sessions`` tag: logout, the session list and session revocation."""

from __future__ import annotations

from typing import Any

from authspec.envelope import Envelope
from authspec.services.results import Principal
from handlers.context import json_body, ok, services


async def logout(user: str, token_info: dict[str, Any], body: Any = None) -> tuple[Envelope, int]:
    scope = json_body(body).get("scope", "all")
    result = await services().sessions.logout(Principal.from_token_info(user, token_info), scope)
    return ok(result.as_data())


async def list_sessions(user: str, token_info: dict[str, Any]) -> tuple[Envelope, int]:
    result = await services().sessions.list(Principal.from_token_info(user, token_info))
    return ok(result.as_data())


async def revoke_session(id: str, user: str, token_info: dict[str, Any]) -> tuple[Envelope, int]:
    result = await services().sessions.revoke(Principal.from_token_info(user, token_info), id)
    return ok(result.as_data())
