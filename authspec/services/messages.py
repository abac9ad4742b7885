"""The wording of the login-code email (one place for the real service and the mock).

The 6-digit code stands on a line of its own, so people and tests can pick it out.
"""

from __future__ import annotations

from datetime import datetime

from authspec.services.ports import CodeMessage

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
