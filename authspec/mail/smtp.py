"""The SMTP mail backend: ``smtplib`` in a worker thread, so the event loop never waits on a server.

Each message opens its own connection (login codes are rare and a pooled connection would go
stale). ``tls`` is ``AUTHSPEC_SMTP_TLS``: ``starttls`` upgrades the connection before anything
else is said, ``implicit`` speaks TLS from the first byte (port 465), ``none`` sends in clear;
with TLS the server's certificate and host name are verified against the system's CAs plus
``AUTHSPEC_SMTP_CA_FILE``, and a server that offers no STARTTLS is refused, never used in clear.
Login is used when configured. Failures (an untrusted certificate included) raise ``MailError``
within the timeout; the service turns that into 503 without revealing anything about the address.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

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
        tls: Literal["starttls", "implicit", "none"] = "none",
        ca_file: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.tls = tls
        self.timeout = timeout
        self.context = ssl.create_default_context()  # CERT_REQUIRED and host-name checks
        if ca_file is not None:
            self.context.load_verify_locations(cafile=str(ca_file))

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer:
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            tls=settings.smtp_tls,
            ca_file=settings.smtp_ca_file,
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
        client = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.context)
            if self.tls == "implicit"
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        with client:
            if self.tls == "starttls":
                client.starttls(context=self.context)  # raises SMTPNotSupportedError when not offered
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(email)
