"""Operations of the ``tokens`` tag: refresh rotation, refresh-token revocation and the JWK Set."""

from __future__ import annotations

from typing import Any

from authspec.envelope import Envelope
from authspec.services.results import Principal
from handlers.context import json_body, ok, services


async def refresh_token(body: Any) -> tuple[Envelope, int]:
    body = json_body(body)
    return ok((await services().tokens.refresh(body["refreshToken"])).as_data())


async def revoke_refresh_token(body: Any, user: str, token_info: dict[str, Any]) -> tuple[Envelope, int]:
    body = json_body(body)
    result = await services().tokens.revoke(Principal.from_token_info(user, token_info), body["refreshToken"])
    return ok(result.as_data())


async def get_jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    # Not enveloped (a JWK Set is a standard document); caches may keep it briefly.
    return services().tokens.jwks(), 200, {"Cache-Control": "public, max-age=300"}
