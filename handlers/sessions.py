"""Handlers of the ``sessions`` tag: logout, the session list and session revocation."""

from __future__ import annotations

from typing import Any

from authspec.services.results import LogoutScope, Principal

from . import Reply, reply, services


async def logout(user: str, token_info: dict[str, Any], body: dict[str, Any] | None = None) -> Reply:
    # Without a body the scope is the default, all (the schema's default body is {}).
    scope: LogoutScope = (body or {}).get("scope", "all")
    logged_out = await services().sessions.logout(Principal.from_token_info(user, token_info), scope)
    return reply(logged_out.as_data())


async def list_sessions(user: str, token_info: dict[str, Any]) -> Reply:
    listed = await services().sessions.list(Principal.from_token_info(user, token_info))
    return reply(listed.as_data())


async def revoke_session(id: str, user: str, token_info: dict[str, Any]) -> Reply:
    revoked = await services().sessions.revoke(Principal.from_token_info(user, token_info), id)
    return reply(revoked.as_data())
