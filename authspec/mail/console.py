"""The console mail backend (development): the email is printed to stdout, code on its own line.

It writes to stdout, not to the log: logs never contain codes, and the console is where a
developer running ``make serve`` looks for the code.
"""

from __future__ import annotations

import sys
from typing import TextIO

from authspec.services.ports import CodeMessage


class ConsoleMailer:
    """Prints each message; ``stream`` defaults to the current ``sys.stdout``; ``heading``, when
    given, is printed above the To: line (the mock names the namespace there)."""

    def __init__(self, stream: TextIO | None = None, heading: str | None = None) -> None:
        self._stream = stream
        self._heading = f"{heading}\n" if heading else ""

    async def send(self, message: CodeMessage) -> None:
        stream = self._stream or sys.stdout
        rule = "-" * 60
        stream.write(f"{rule}\n{self._heading}To: {message.to}\nSubject: {message.subject}\n\n{message.body}{rule}\n")
        stream.flush()
