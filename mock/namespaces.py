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
from authspec.mail.console import ConsoleMailer
from authspec.services.ports import CodeMessage, Mailer, User

from .world import MemoryRateLimiter, MemoryRepository

DEFAULT_NAMESPACE = "default"
#: The claim of a mock access token that names the namespace it was issued in.
NAMESPACE_CLAIM = "mock_namespace"
#: As the control API's ``X-Mock-Namespace`` pattern; ``\Z``, since ``$`` would admit a final newline.
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
REQUEST_LOG_SIZE = 1000


def wrong_namespace(what: str, issued_in: str) -> str:
    """The 401 detail of a token presented in a namespace other than the one it was issued in."""
    send = f"send X-Mock-Namespace: {issued_in}" + (" (or no header)" if issued_in == DEFAULT_NAMESPACE else "")
    return f"This {what} was issued in mock namespace {issued_in!r}; {send}"


class Outbox:
    """The mock's mailer (``authspec.services.ports.Mailer``): it keeps what it "sends", and with a
    ``console`` also prints it, as the service's console mail backend does (the code only: never
    a token)."""

    def __init__(self, console: Mailer | None = None) -> None:
        self.messages: list[CodeMessage] = []
        self.console = console

    async def send(self, message: CodeMessage) -> None:
        self.messages.append(message)
        if self.console is not None:
            await self.console.send(message)

    def as_data(
        self, to: str | None = None, usable: Callable[[CodeMessage], bool] | None = None
    ) -> list[dict[str, Any]]:
        """The messages (to ``to`` only, when given), each saying whether its code is ``usable``."""
        return [
            {
                "to": m.to,
                "subject": m.subject,
                "code": m.code,
                "sentAt": format_timestamp(m.sent_at),
                "usable": bool(usable and usable(m)),
            }
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

    def code_usable(self, message: CodeMessage) -> bool:
        """Whether verifying the code of ``message`` would succeed now, by the services' own rules:
        it is the email's latest code, unused, unexpired on this world's clock and not locked."""
        auth = self.services.auth
        stored = self.repository.codes.get(message.to)
        return (
            stored is not None
            and stored.code_hash == auth.secrets.codes.hash(message.to, message.code)
            and stored.consumed_at is None
            and self.clock.now() < stored.expires_at
            and stored.attempts < auth.settings.code_max_attempts
        )

    def take_scenario(self, operation_id: str) -> Scenario | None:
        """Consume one firing of the first scenario queued for ``operation_id``."""
        for scenario in self.scenarios:
            if scenario.operation_id == operation_id:
                scenario.times -= 1
                if scenario.times <= 0:
                    self.scenarios.remove(scenario)
                return Scenario(operation_id, scenario.status, 1)
        return None

    def log(
        self, method: str, path: str, operation_id: str | None, status: int, at: datetime, error_code: str | None = None
    ) -> None:
        self.requests.append(
            {
                "method": method,
                "path": path,
                "operationId": operation_id,
                "status": status,
                "errorCode": error_code,
                "at": format_timestamp(at),
            }
        )


class Worlds:
    """Every namespace's world, created on first use."""

    def __init__(
        self,
        fixtures: list[User],
        build_services: Callable[[World], Any],
        *,
        max_worlds: int = 256,
        print_codes: bool = False,
    ) -> None:
        self.fixtures = fixtures
        self.build_services = build_services
        self.max_worlds = max_worlds
        self.print_codes = print_codes
        self._worlds: OrderedDict[str, World] = OrderedDict()

    def get(self, name: str = DEFAULT_NAMESPACE) -> World:
        world = self._worlds.get(name)
        if world is None:
            world = self._create(name)
        else:
            self._worlds.move_to_end(name)
        return world

    def reset(self, name: str) -> World:
        old = self._worlds.pop(name, None)
        if old is not None and old.services is not None:
            old.services.introspection.watch.close()  # its long-polls end: the world is gone
        return self._create(name)

    def _create(self, name: str) -> World:
        console = ConsoleMailer(heading=f"Mock namespace: {name}") if self.print_codes else None
        world = World(name=name, fixtures=self.fixtures, outbox=Outbox(console))
        world.services = self.build_services(world)
        self._worlds[name] = world
        while len(self._worlds) > self.max_worlds:
            self._worlds.popitem(last=False)
        return world

    def __contains__(self, name: object) -> bool:
        return name in self._worlds

    def close(self) -> None:
        """The server is stopping: end every world's held long-polls of the revocation feed."""
        for world in self._worlds.values():
            world.services.introspection.watch.close()

    def holding_refresh_token(self, token_hash: str, besides: World) -> str | None:
        """The name of another world that issued the refresh token with this hash, if one did."""
        for name, world in self._worlds.items():
            if world is not besides and token_hash in world.repository.refresh_tokens:
                return name
        return None
