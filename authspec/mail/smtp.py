"""The SMTP mail backend: ``smtplib`` in a worker thread, so the event loop never waits on a server.

Each message opens its own connection (login codes are rare and a pooled connection would go
stale); STARTTLS and login are used when configured. Failures raise ``MailError``; the service
turns that into 503 without revealing anything about the address.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from authspec.services.ports import CodeMessage
from authspec.settings import Settings


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
        )

    def build(self, message: CodeMessage) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = format_datetime(message.sent_at)
        email["Message-ID"] = make_msgid(domain="authspec")
        for name, value in message.headers.items():
            email[name] = value
        email.set_content(message.body)
        return email

    async def send(self, message: CodeMessage) -> None:
        email = self.build(message)
        try:
            await asyncio.to_thread(self._deliver, email)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"SMTP delivery to {self.host}:{self.port} failed: {type(exc).__name__}") from exc

    def _deliver(self, email: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(email)
