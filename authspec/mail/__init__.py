"""Mail backends for login codes; the message itself is composed by ``authspec.services.messages``.

Backends implement ``authspec.services.ports.Mailer``: ``console`` prints to stdout
(development), ``smtp`` talks to a server in a worker thread so the event loop never blocks, and
``memory`` keeps an outbox for tests. ``build_mailer`` picks one from the settings.
"""

from __future__ import annotations

from authspec.services.ports import Mailer
from authspec.settings import Settings


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


__all__ = ["build_mailer"]
