"""The real service's operations, one module per tag: ``handlers/<tag>.py`` holds the handler of
every operation of that tag, named ``<snake_case operationId>`` (``refreshToken`` tagged ``tokens``
is ``authspec.handlers.tokens.refresh_token``).

Each handler is a thin HTTP adapter: it takes what Connexion injects (the validated ``body``, path
parameters, ``user`` and ``token_info``), makes one call into the domain services and returns the
success envelope, stamped by the services' clock. The services come from
``request.state.services``: the real service's lifespan puts them there, the mock's entry
middleware puts the request's world's there. The mock resolves these very functions by name (its
resolver root is the string ``authspec.handlers``; ``mock/overrides`` wraps the few it answers
differently), so the service and the mock cannot drift apart.

An operation of the contract without a handler here stops ``authspec check`` and the app's start,
unless the contract marks it ``x-planned: true`` (see ``authspec.resolver``).
"""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.context import scope

from authspec.clientip import client_address
from authspec.envelope import Envelope, success
from authspec.services import Services
from authspec.services.ports import ClientInfo

Reply = tuple[Envelope, int]


def services() -> Services:
    """The domain services serving this request (``request.state.services``, read from the scope:
    ``connexion.request`` builds a new request object on every attribute read)."""
    found: Services = scope["state"]["services"]
    return found


def client() -> ClientInfo:
    """The client's address and User-Agent: the TCP peer, or the address a trusted proxy forwarded
    (``AUTHSPEC_TRUSTED_PROXIES``, the rule of ``authspec.clientip``)."""
    trusted = services().auth.settings.trusted_proxies
    return ClientInfo(ip=client_address(request.scope, trusted), user_agent=request.headers.get("user-agent"))


def reply(data: Any, status: int = 200) -> Reply:
    """``data`` in the success envelope, timestamped by the services' clock."""
    return success(data, services().clock.now(), status), status
