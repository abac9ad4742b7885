"""Namespaces: each ``X-Mock-Namespace`` value names an isolated world with its own clock.

A ``World`` is everything one developer or test run can see and change: the in-memory store,
rate-limit counters, the outbox of "sent" emails, the request log, the queued scenario
overrides and a ``MovableClock``. ``Worlds`` creates them on first use from the fixtures (up to
``max_worlds``; the least recently used one is dropped beyond that) and ``reset`` rebuilds one.
The world of the request being served is selected by ``mock.context``.
"""

from __future__ import annotations

import re
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authspec.clock import MovableClock
from authspec.envelope import format_timestamp
from authspec.services.ports import CodeMessage, User

from .world import MemoryRateLimiter, MemoryRepository

DEFAULT_NAMESPACE = "default"
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
REQUEST_LOG_SIZE = 1000


class Outbox:
    """The mock's mailer (``authspec.services.ports.Mailer``): it keeps what it "sends"."""

    def __init__(self) -> None:
        self.messages: list[CodeMessage] = []

    async def send(self, message: CodeMessage) -> None:
        self.messages.append(message)

    def as_data(self, to: str | None = None) -> list[dict[str, Any]]:
        return [
            {"to": m.to, "subject": m.subject, "code": m.code, "sentAt": format_timestamp(m.sent_at)}
            for m in self.messages
            if to is None or m.to.lower() == to.lower()
        ]


@dataclass
class Scenario:
    """A one-shot override: the next ``times`` calls of ``operation_id`` answer ``status``."""

    operation_id: str
    status: int
    times: int = 1

    def as_data(self) -> dict[str, Any]:
        return {"operationId": self.operation_id, "status": self.status, "times": self.times}


@dataclass
class World:
    """One namespace's state. ``services`` is built by the app (the shared domain services)."""

    name: str
    fixtures: list[User]
    clock: MovableClock = field(default_factory=MovableClock)
    repository: MemoryRepository = field(init=False)
    limiter: MemoryRateLimiter = field(default_factory=MemoryRateLimiter)
    outbox: Outbox = field(default_factory=Outbox)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    scenarios: list[Scenario] = field(default_factory=list)
    services: Any = None

    def __post_init__(self) -> None:
        self.repository = MemoryRepository(self.fixtures)

    def now(self) -> datetime:
        return self.clock.now()

    def take_scenario(self, operation_id: str) -> Scenario | None:
        """Consume one firing of the first scenario queued for ``operation_id``."""
        for scenario in self.scenarios:
            if scenario.operation_id == operation_id:
                scenario.times -= 1
                if scenario.times <= 0:
                    self.scenarios.remove(scenario)
                return Scenario(operation_id, scenario.status, 1)
        return None

    def log(self, method: str, path: str, operation_id: str | None, status: int, at: datetime) -> None:
        self.requests.append(
            {"method": method, "path": path, "operationId": operation_id, "status": status, "at": format_timestamp(at)}
        )


class Worlds:
    """Every namespace's world, created on first use."""

    def __init__(self, fixtures: list[User], build_services: Callable[[World], Any], *, max_worlds: int = 256) -> None:
        self.fixtures = fixtures
        self.build_services = build_services
        self.max_worlds = max_worlds
        self._worlds: OrderedDict[str, World] = OrderedDict()

    def get(self, name: str = DEFAULT_NAMESPACE) -> World:
        world = self._worlds.get(name)
        if world is None:
            world = self._create(name)
        else:
            self._worlds.move_to_end(name)
        return world

    def reset(self, name: str) -> World:
        self._worlds.pop(name, None)
        return self._create(name)

    def _create(self, name: str) -> World:
        world = World(name=name, fixtures=self.fixtures)
        world.services = self.build_services(world)
        self._worlds[name] = world
        while len(self._worlds) > self.max_worlds:
            self._worlds.popitem(last=False)
        return world

    def __contains__(self, name: object) -> bool:
        return name in self._worlds
