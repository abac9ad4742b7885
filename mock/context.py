"""The mock app's shared parts and the request being served, as a context variable.

``MockApp`` is built once by ``mock.app.create_app`` (settings, worlds, the contract's
operations, the responder, the access-token signer); ``MockRequest`` is what the middlewares
learn about one request (its namespace and world, its ``Prefer``). ``EntryObserver`` makes
the request current, so the bearer check, the handlers, the control API and the error
renderer's clock all see the same world without threading it through Connexion.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authspec.clock import SystemClock
from authspec.settings import Settings

from .namespaces import World, Worlds
from .prefer import NONE, Preferences
from .responder import Responder

Operation = dict[str, Any]


@dataclass
class MockApp:
    """What every request of one mock app shares."""

    settings: Settings
    worlds: Worlds
    operations: dict[str, Operation]  # the API's operations by operationId
    responder: Responder


@dataclass
class MockRequest:
    """What the mock's middlewares know about one request."""

    app: MockApp
    namespace: str
    world: World | None
    control: bool
    prefer: Preferences = NONE
    overridden: bool = False
    #: The world's time when the request arrived: one request sees one instant (``RequestClock``).
    at: datetime | None = None

    def now(self) -> datetime:
        """The request's instant (the wall clock for a request without a valid world)."""
        if self.at is not None:
            return self.at
        return self.world.clock.now() if self.world is not None else SystemClock().now()


_current: ContextVar[MockRequest | None] = ContextVar("authspec_mock_request", default=None)


def enter(request: MockRequest) -> Token[MockRequest | None]:
    return _current.set(request)


def leave(token: Token[MockRequest | None]) -> None:
    _current.reset(token)


def current_request() -> MockRequest:
    found = _current.get()
    if found is None:
        raise LookupError("no mock request is being served")
    return found


def current_world() -> World:
    """The world of the request being served."""
    world = current_request().world
    if world is None:
        raise LookupError("the request names no valid namespace")
    return world


class RequestClock:
    """A world's clock as its services see it: pinned to the request's arrival while one is served.

    Inside a request every "now" is the same instant, as if the request took no time: a token
    issued now expires in exactly ``ACCESS_TTL`` seconds, and a session's ``createdAt`` equals
    the envelope's ``timestamp``. Outside a request it is the world's movable clock.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    def now(self) -> datetime:
        found = _current.get()
        if found is not None and found.world is self.world and found.at is not None:
            return found.at
        return self.world.clock.now()


class WorldClock:
    """The current world's clock (the wall clock outside a request): the error renderer's clock."""

    def __init__(self) -> None:
        self._system = SystemClock()

    def now(self) -> datetime:
        found = _current.get()
        if found is not None and found.world is not None:
            return found.now()
        return self._system.now()
