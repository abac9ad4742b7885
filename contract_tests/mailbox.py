"""Where the suite reads login codes: the in-memory mailer, the mock's outbox or an SMTP sink.

Every source answers ``code_for(email)``: the code of the newest message to that address. The
code email carries the 6-digit code on a line of its own (ARCHITECTURE.md, design facts), which is how the SMTP sink
finds it in a message from any implementation of the contract.
"""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .http import Http

CODE_LINE = re.compile(r"^\s*(\d{6})\s*$", re.MULTILINE)


class NoCode(LookupError):
    """No code arrived for the address."""


class Mailbox(Protocol):
    def code_for(self, email: str) -> str: ...


class MemoryMailbox:
    """The real app's ``MemoryMailer`` (``AUTHSPEC_MAIL_BACKEND=memory``), read in-process."""

    def __init__(self, mailer: Any) -> None:
        self.mailer = mailer

    def code_for(self, email: str) -> str:
        try:
            code: str = self.mailer.last_code(email.lower())
        except KeyError:
            raise NoCode(email) from None
        return code


class OutboxMailbox:
    """The mock's ``GET /__mock/outbox?to=`` (in the target's namespace)."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def code_for(self, email: str) -> str:
        answer = self.http.get("/__mock/outbox", params={"to": email.lower()})
        answer.raise_for_status()
        messages = answer.json()["data"]
        if not messages:
            raise NoCode(email)
        code: str = messages[-1]["code"]
        return code


class SmtpSink:
    """An SMTP server (aiosmtpd) on ``host:port`` that keeps every message; the target sends its mail here."""

    def __init__(self, host: str, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.host, self.port = host, port
        self.messages: list[tuple[str, str]] = []  # (recipient, plain-text body), oldest first
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname=host, port=port, ready_timeout=10)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        body = part.get_content() if part is not None else ""
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self.messages.append((recipient.lower(), str(body)))
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def code_for(self, email: str, wait: float = 10.0) -> str:
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                bodies = [body for to, body in self.messages if to == email.lower()]
            if bodies:
                found = CODE_LINE.findall(bodies[-1])
                if found:
                    return str(found[-1])
            if time.monotonic() > deadline:
                raise NoCode(email)
            time.sleep(0.02)
