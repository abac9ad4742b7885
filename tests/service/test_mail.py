"""Mail backends: the console prints the code on a line of its own; SMTP delivers to a real
server (aiosmtpd, started here) from a worker thread; a failing server answers 503."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from authspec.handlers.app import create_app
from starlette.testclient import TestClient

from authspec.mail import build_mailer
from authspec.mail.console import ConsoleMailer
from authspec.mail.memory import MemoryMailer
from authspec.mail.smtp import SmtpMailer
from authspec.services.messages import compose_code_message
from authspec.settings import Settings
from tests.helpers import assert_error, free_port
from tests.service.support import START, data

EMAIL = "ada@example.com"


class Inbox:
    """An aiosmtpd handler that keeps what it receives (and the thread that received it)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def code_lines(body: str) -> list[str]:
    return [line for line in body.splitlines() if re.fullmatch(r"[0-9]{6}", line)]


def test_the_message_has_the_code_on_a_line_of_its_own() -> None:
    message = compose_code_message(EMAIL, "012345", expires_in=300, sent_at=START)
    assert code_lines(message.body) == ["012345"]
    assert "5 minutes" in message.body


def test_console_backend_prints_the_code() -> None:
    out = io.StringIO()
    asyncio.run(ConsoleMailer(out).send(compose_code_message(EMAIL, "493027", expires_in=300, sent_at=START)))
    printed = out.getvalue()
    assert code_lines(printed) == ["493027"]
    assert f"To: {EMAIL}" in printed


def test_backends_are_chosen_by_settings() -> None:
    assert isinstance(build_mailer(Settings(mail_backend="console")), ConsoleMailer)
    assert isinstance(build_mailer(Settings(mail_backend="memory")), MemoryMailer)
    assert isinstance(build_mailer(Settings(mail_backend="smtp", smtp_host="mx", smtp_port=2525)), SmtpMailer)


def test_smtp_backend_delivers_off_the_event_loop(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    mailer = SmtpMailer("127.0.0.1", port, sender="authspec <no-reply@example.com>")

    async def send() -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        await mailer.send(compose_code_message(EMAIL, "654321", expires_in=300, sent_at=START))
        ticker.cancel()
        assert ticks > 1  # the loop kept running while the message went out

    asyncio.run(send())
    [message] = inbox.messages
    assert message["To"] == EMAIL and message["Subject"] == "Your login code"
    assert code_lines(message.get_payload()) == ["654321"]  # type: ignore[arg-type]
    assert inbox.envelopes == [("no-reply@example.com", [EMAIL])]


def test_request_code_over_smtp(smtp: tuple[Inbox, int], make_settings: Callable[..., Settings]) -> None:
    inbox, port = smtp
    app = create_app(make_settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port))
    with TestClient(app) as client:
        data(client.post("/api/v1/auth/email/request-code", json={"email": EMAIL}))
    [message] = inbox.messages
    assert len(code_lines(message.get_payload())) == 1  # type: ignore[arg-type]


def test_an_unreachable_smtp_server_is_503(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port()))
    with TestClient(app) as client:
        response = client.post("/api/v1/auth/email/request-code", json={"email": EMAIL})
    assert_error(response, 503, "service_unavailable")
