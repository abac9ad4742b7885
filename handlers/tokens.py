"""Handlers of the ``tokens`` tag: refresh rotation, refresh-token revocation, the JWK Set, and for
resource servers (HTTP Basic, checked before a handler runs) introspection and the revocation feed."""

from __future__ import annotations

from typing import Any

from connexion import request

from authspec.keys import JWKS_MAX_AGE
from authspec.services.results import Principal

from . import Reply, reply, services


async def refresh_token(body: dict[str, Any]) -> Reply:
    pair = await services().tokens.refresh(body["refreshToken"])
    return reply(pair.as_data())


async def revoke_refresh_token(body: dict[str, Any], user: str, token_info: dict[str, Any]) -> Reply:
    revoked = await services().tokens.revoke(Principal.from_token_info(user, token_info), body["refreshToken"])
    return reply(revoked.as_data())


async def get_jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    # Not enveloped (a JWK Set is a standard document); caches may keep it for JWKS_MAX_AGE, which
    # the default key publish delay covers (AUTHSPEC_KEY_PUBLISH_DELAY, README "Signing keys").
    return services().tokens.jwks(), 200, {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}


async def introspect_token(body: dict[str, Any]) -> Reply:
    # The same field from RFC 7662's form and from the JSON body; the hint is not needed.
    return reply(await services().introspection.introspect(body["token"]))


async def list_revocations(after: str | None = None, wait: int = 0, limit: int = 500) -> Reply:
    page = await services().introspection.revocations(
        after, limit=limit, wait=wait, disconnected=request.is_disconnected
    )
    return reply(page.as_data())
