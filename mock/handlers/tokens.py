"""Operations of the ``tokens`` tag for the mock: the shared adapters of ``authspec.operations.tokens``,
run against the request's in-memory world. ``refresh_token`` also says, when it refuses a refresh
token another namespace issued, which namespace that is."""

from typing import Any

from authspec.errors import Unauthorized
from authspec.operations import tokens as operations
from authspec.operations.tokens import get_jwks, revoke_refresh_token
from authspec.tokens import hash_token

from ..context import current_request, current_world
from ..namespaces import wrong_namespace


async def refresh_token(body: dict[str, Any]) -> Any:
    try:
        return await operations.refresh_token(body)
    except Unauthorized as refused:
        if refused.code != "invalid_refresh_token":
            raise
        token = body.get("refreshToken")
        issued_in = (
            current_request().app.worlds.holding_refresh_token(hash_token(token), besides=current_world())
            if isinstance(token, str)
            else None
        )
        if issued_in is None:
            raise
        raise Unauthorized(wrong_namespace("refresh token", issued_in), code=refused.code) from None


__all__ = ["get_jwks", "refresh_token", "revoke_refresh_token"]
