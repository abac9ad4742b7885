"""Structured logs of the real service: one JSON object a line, with secrets redacted.

The services log events with ``extra={"event": ..., ...}`` and never pass tokens or codes; as a
second line of defence, ``RedactingFilter`` masks anything shaped like a JWT or an opaque token
in the message and in every extra field before a handler sees it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRETS = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*|\b[A-Za-z0-9_-]{43,}\b")
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    if isinstance(value, str):
        return _SECRETS.sub(REDACTED, value)
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(record.msg)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


_HANDLER_NAME = "authspec-json"


def configure_logging(level: int = logging.INFO) -> None:
    """Send the ``authspec`` loggers to stderr as JSON lines (once per process)."""
    logger = logging.getLogger("authspec")
    logger.setLevel(level)
    # On the handler, not the logger: a logger's filters never see its children's records
    # (authspec.auth, authspec.cors, ...), a handler's see every record it writes.
    if any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
