"""The mock's ``tokens`` operations: refresh rotation, refresh-token revocation and the JWK Set."""

from __future__ import annotations

from typing import Any

from authspec.services.results import Principal
from mock.handlers import Reply, json_body, reply, services


async def refresh_token(body: Any) -> Reply:
    pair = await services().tokens.refresh(json_body(body)["refreshToken"])
    return reply(pair.as_data())


async def revoke_refresh_token(body: Any, user: str, token_info: dict[str, Any]) -> Reply:
    token = json_body(body)["refreshToken"]
    revoked = await services().tokens.revoke(Principal.from_token_info(user, token_info), token)
    return reply(revoked.as_data())


async def get_jwks() -> tuple[dict[str, Any], int]:
    """The mock's own development key (not enveloped: a JWK Set at the site root)."""
    return services().tokens.jwks(), 200
