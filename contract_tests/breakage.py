"""Deliberately broken handlers, for proving that the suite fails on them (``test_meta``).

Loaded as a pytest plugin (``-p contract_tests.breakage``) before the suite builds its apps, it
replaces some of the handlers of ``authspec.handlers`` — the real service's, which the mock
resolves by name when it is built (``test_meta`` targets only the mock) — each with a bug one of
our checks exists to catch — bugs that Schemathesis' schema checks alone would let through:

- getCurrentUser answers 200 with ``statusCode: 201`` in the envelope      (envelope_invariants)
- listSessions hands each session the caller's access token back            (no_secret_echo)
- logout answers 200 without ending any session                            (session_end_enforced)
- the JWK Set publishes the private half of the signing key                (no_secret_echo)
- refresh (no bearer security) refuses with a ``WWW-Authenticate`` challenge  (declared_auth_headers)
"""

from __future__ import annotations

from typing import Any

from authspec.handlers import Reply, auth, reply, sessions, tokens
from connexion import request

from authspec.errors import Unauthorized

_real_current_user = auth.get_current_user
_real_list_sessions = sessions.list_sessions
_real_jwks = tokens.get_jwks
_real_refresh = tokens.refresh_token


async def get_current_user(user: str) -> Reply:
    body, status = await _real_current_user(user)
    return {**body, "statusCode": 201}, status


async def list_sessions(user: str, token_info: dict[str, Any]) -> Reply:
    answer, status = await _real_list_sessions(user, token_info)
    token = request.headers["authorization"].removeprefix("Bearer ")
    answer["data"] = [{**item, "accessToken": token} for item in answer["data"]]
    return answer, status


async def logout(user: str, token_info: dict[str, Any], body: Any = None) -> Reply:
    return reply({"revokedSessions": 0})


async def get_jwks() -> tuple[dict[str, Any], int, dict[str, str]]:
    document, status, headers = await _real_jwks()
    return {"keys": [{**key, "d": "bm90LWEtcmVhbC1rZXk"} for key in document["keys"]]}, status, headers


async def refresh_token(body: dict[str, Any]) -> Reply:
    try:
        return await _real_refresh(body)
    except Unauthorized as refused:
        refused.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        raise


auth.get_current_user = get_current_user
tokens.refresh_token = refresh_token
tokens.get_jwks = get_jwks
sessions.list_sessions = list_sessions
sessions.logout = logout
