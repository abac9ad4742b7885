"""What every handler needs from the request: the services, the client and the envelope's clock."""

from __future__ import annotations

import json
from typing import Any

from connexion import request

from authspec.envelope import Envelope, success
from authspec.services import Services
from authspec.services.ports import ClientInfo


def services() -> Services:
    """The services the app's lifespan built (``request.state.services``)."""
    found: Services = request.state.services
    return found


def client() -> ClientInfo:
    """The peer address and User-Agent of the current request (no proxy headers are trusted)."""
    peer = request.client
    return ClientInfo(ip=peer.host if peer else None, user_agent=request.headers.get("user-agent"))


def json_body(body: Any) -> dict[str, Any]:
    """The validated JSON body as a dict.

    Connexion validates a body sent without ``Content-Type`` as JSON (the operation's only media
    type) but then hands the handler the raw bytes; an absent optional body arrives as the
    schema's ``default``.
    """
    if isinstance(body, bytes | str):
        body = json.loads(body or b"{}")
    return body if isinstance(body, dict) else {}


def ok(data: Any, status: int = 200) -> tuple[Envelope, int]:
    """The success envelope of ``data``, timestamped by the services' clock."""
    return success(data, services().clock.now(), status), status
