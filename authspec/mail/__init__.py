"""Login-code email: composing the message, and the backends that deliver it.

``compose_code_message`` is the one place the email's wording lives (the 6-digit code stands on
a line of its own, so people and tests can pick it out). Backends implement
``authspec.services.ports.Mailer``: ``console`` prints to stdout (development), ``smtp`` talks to
a server in a worker thread so the event loop never blocks, and ``memory`` keeps an outbox for
tests. ``build_mailer`` picks one from the settings.
"""

from __future__ import annotations

from datetime import datetime

from authspec.services.ports import CodeMessage, Mailer
from authspec.settings import Settings

SUBJECT = "Your login code"


def compose_code_message(to: str, code: str, *, expires_in: int, sent_at: datetime) -> CodeMessage:
    """The email that carries ``code`` to ``to``."""
    minutes = max(1, expires_in // 60)
    body = (
        "Hello,\n"
        "\n"
        "your login code is:\n"
        "\n"
        f"{code}\n"
        "\n"
        f"It works once, for {minutes} minute{'s' if minutes != 1 else ''}. "
        "If you did not ask for it, ignore this email.\n"
    )
    return CodeMessage(to=to, subject=SUBJECT, body=body, code=code, sent_at=sent_at)


def build_mailer(settings: Settings) -> Mailer:
    """The backend ``AUTHSPEC_MAIL_BACKEND`` names."""
    if settings.mail_backend == "smtp":
        from authspec.mail.smtp import SmtpMailer

        return SmtpMailer.from_settings(settings)
    if settings.mail_backend == "memory":
        from authspec.mail.memory import MemoryMailer

        return MemoryMailer()
    from authspec.mail.console import ConsoleMailer

    return ConsoleMailer()


__all__ = ["SUBJECT", "build_mailer", "compose_code_message"]
