"""The ``tokens`` tag in the mock: a refused refresh token says which namespace issued it."""

from __future__ import annotations

from typing import Any

from authspec.credentials import hash_token
from authspec.errors import Unauthorized
from authspec.resolver import Handler

from ..context import current_request, current_world
from ..namespaces import wrong_namespace


def refresh_token(shared: Handler) -> Handler:
    """``refreshToken`` as the service answers it, except that a token another namespace issued is
    refused with a 401 naming that namespace (same errorCode, ``invalid_refresh_token``)."""

    async def refresh_token(body: dict[str, Any]) -> Any:
        try:
            return await shared(body)
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

    return refresh_token
