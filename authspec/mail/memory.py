"""The in-memory mail backend: an outbox list, for tests."""

from __future__ import annotations

from authspec.services.ports import CodeMessage


class MemoryMailer:
    """Keeps every message in ``outbox``, oldest first."""

    def __init__(self) -> None:
        self.outbox: list[CodeMessage] = []

    async def send(self, message: CodeMessage) -> None:
        self.outbox.append(message)

    def last_code(self, to: str) -> str:
        """The code of the newest message to ``to`` (KeyError when none was sent)."""
        for message in reversed(self.outbox):
            if message.to == to:
                return message.code
        raise KeyError(to)
