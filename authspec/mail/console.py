"""The console mail backend (development): the email is printed to stdout, code on its own line.

It writes to stdout, not to the log: logs never contain codes, and the console is where a
developer running ``make serve`` looks for the code.
"""

from __future__ import annotations

import sys
from typing import TextIO

from authspec.services.ports import CodeMessage


class ConsoleMailer:
    """Prints each message; ``stream`` defaults to the current ``sys.stdout``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, message: CodeMessage) -> None:
        stream = self._stream or sys.stdout
        rule = "-" * 60
        stream.write(f"{rule}\nTo: {message.to}\nSubject: {message.subject}\n\n{message.body}{rule}\n")
        stream.flush()
