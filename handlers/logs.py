"""Structured logs of the real service: one JSON object a line, redacted once, in the formatter.

``JsonFormatter`` writes every record — the ``authspec`` loggers', the access line of
``authspec.requestlog`` and uvicorn's own — as one JSON line with the request's id and client
address (``authspec.requestlog.current``) when it belongs to a request. Redaction happens there
and only there, over the message, every extra field (nested too) and the traceback: JWTs,
opaque tokens of the contract's alphabet and length (43+ base64url characters), ``Authorization``
values, values of secret-named fields and 6-digit codes after a code-named key; an email address
is replaced by ``email:<keyed hash>`` (``authspec.services.secrets.email_hash`` under the
service secret's log key), so lines about one address can be joined without writing it.
``configure_logging`` installs the one handler on the ``authspec`` and ``uvicorn`` loggers and
silences ``uvicorn.access``; ``authspec serve`` names this formatter in uvicorn's log config
(``authspec.requestlog.uvicorn_log_config``) for the lines uvicorn writes before an app exists
(the supervisor of several workers).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from authspec.requestlog import current
from authspec.services.secrets import email_hash

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}
REDACTED = "[redacted]"
_B64 = "A-Za-z0-9_-"
_JWT = re.compile(rf"eyJ[{_B64}]+\.[{_B64}]+\.[{_B64}]*")
_OPAQUE = re.compile(rf"(?<![{_B64}])[{_B64}]{{43,}}(?![{_B64}])")
_KEYED = r"""(["']?\s*[:=]\s*["']?)"""
_AUTHORIZATION = re.compile(rf"(?i)\b((?:proxy-)?authorization){_KEYED}(?:(?:bearer|basic)\s+)?[^\s\"',;}}\]]+")
_SECRET_VALUE = re.compile(rf"(?i)\b(password|secret|token|refresh_?token|registration_?token){_KEYED}[^\s\"',;&}}\]]+")
_CODE = re.compile(rf"(?i)\b(code|otp){_KEYED}\d{{6}}\b")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: What every rule above needs somewhere in a string: a value without it is written as it is, after
#: one search instead of six substitutions (most fields: paths, ids, statuses).
_SUSPECT = re.compile(rf"eyJ|@|[{_B64}]{{43}}|\d{{6}}|(?i:authorization|password|secret|token)")
#: Extra fields whose value is never written, whatever it looks like.
_SECRET_FIELDS = {"code", "otp", "password", "authorization", "token", "refresh_token", "registration_token"}


class Redactor:
    """Masks secrets in strings; ``email_key`` keys the hash that replaces an address."""

    def __init__(self, email_key: bytes | None = None) -> None:
        self.email_key = email_key

    def _email(self, match: re.Match[str]) -> str:
        return f"email:{email_hash(self.email_key, match.group(0))}" if self.email_key else "[email]"

    def text(self, value: str) -> str:
        if not _SUSPECT.search(value):
            return value
        value = _AUTHORIZATION.sub(rf"\1\2{REDACTED}", value)
        value = _SECRET_VALUE.sub(rf"\1\2{REDACTED}", value)
        value = _CODE.sub(rf"\1\2{REDACTED}", value)
        value = _JWT.sub(REDACTED, value)
        value = _OPAQUE.sub(REDACTED, value)
        return _EMAIL.sub(self._email, value)

    def value(self, value: Any, key: str | None = None) -> Any:
        if key is not None and key.lower() in _SECRET_FIELDS and value is not None:
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self.value(v) for v in value]
        if isinstance(value, bool | int | float) or value is None:
            return value
        return self.text(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, email_key: bytes | None = None) -> None:
        super().__init__()
        self.redactor = Redactor(email_key)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current())
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(self.redactor.value(entry), default=str, ensure_ascii=False)


_HANDLER_NAME = "authspec-json"
#: uvicorn's loggers that write through our handler; ``uvicorn.access`` is replaced by ours.
_UVICORN = ("uvicorn", "uvicorn.error")


def _handler() -> logging.Handler | None:
    return next((h for h in logging.getLogger("authspec").handlers if h.get_name() == _HANDLER_NAME), None)


def configure_logging(level: int = logging.INFO, email_key: bytes | None = None) -> None:
    """Send the ``authspec`` and uvicorn loggers to stderr as JSON lines (one handler a process)."""
    handler = _handler()
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(JsonFormatter(email_key))
        logging.getLogger("authspec").addHandler(handler)
    elif email_key is not None:
        use_email_key(email_key)
    logging.getLogger("authspec").setLevel(level)
    for name in _UVICORN:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
    access = logging.getLogger("uvicorn.access")
    access.handlers = []
    access.propagate = False
    access.disabled = True


def use_email_key(email_key: bytes) -> None:
    """Hash emails under ``email_key`` from now on (the service secret's, once it is known)."""
    handler = _handler()
    if handler is not None and isinstance(handler.formatter, JsonFormatter):
        handler.formatter.redactor.email_key = email_key
