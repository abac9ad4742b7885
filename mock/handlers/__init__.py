"""The mock's operations, one module per tag (auth, tokens, sessions), named as in ``handlers/``.

Each is as thin as the real service's: take what Connexion injects, make one call to the shared
domain services of the request's world (``authspec.services``, over the in-memory store of
``mock.world``) and return the envelope stamped with that world's clock. An operation without a
function here is answered from the contract (``mock.app``'s fallback), not with 501.
"""

from __future__ import annotations

import json
from typing import Any

from connexion import request

from authspec.envelope import success
from authspec.services import Services
from authspec.services.ports import ClientInfo
from mock.context import current_world

Reply = tuple[dict[str, Any], int]


def services() -> Services:
    """The domain services of the request's world."""
    found: Services = current_world().services
    return found


def reply(data: Any, status: int = 200) -> Reply:
    """``data`` in the success envelope, timestamped by the world's clock."""
    return success(data, services().clock.now(), status), status


def client_info() -> ClientInfo:
    """Where the request came from, for the session list."""
    client = request.client
    return ClientInfo(ip=client.host if client else None, user_agent=request.headers.get("user-agent"))


def json_body(body: Any) -> dict[str, Any]:
    """The validated JSON body as a dict.

    Connexion validates a body sent without ``Content-Type`` as JSON (the operation's only media
    type) but then hands the handler the raw bytes; an absent optional body arrives as ``b""``,
    ``None`` or the schema's ``default``.
    """
    if isinstance(body, bytes | str):
        body = json.loads(body or b"{}")
    return body if isinstance(body, dict) else {}
