"""Request ids and the access log: the outermost layer of both apps (``authspec.app``).

``RequestLogMiddleware`` is a pure ASGI middleware. For each HTTP request it takes the client's
``X-Request-ID`` when it is well-formed (1–128 characters of ``[A-Za-z0-9._:-]``, and not shaped
like a code or a token, which would then be echoed and logged), else makes one (uuid4 hex); puts
it with the client's address (``authspec.clientip``, with the trusted proxies) into a context
variable that every log line of the request reads (``current()``); echoes it on the response —
whatever produced the response: an operation, an error envelope, a 404/405/413, a CORS
preflight — and, when the response is done, logs one ``authspec.access`` line: method, path (a
6-digit segment masked), the query with its values replaced (names kept), status, the
envelope's ``errorCode``, latency in milliseconds, the client's address and its user-agent
family (``ua_family``). It never logs a header's or a body's value; the log formatter
(``handlers.logs``) redacts the rest. An app may give it a ``RequestObserver``: the mock's picks the
request's world and records the answer in that world's log, from the same watch of the response
(one layer, one reading of the error envelope's ``errorCode``).
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

from authspec.clientip import Network, client_address
from authspec.jsonbody import decode

log = logging.getLogger("authspec.access")

HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: Shapes of a credential (a 6-digit code, a JWT, an opaque token): never taken as a request id,
#: which is echoed and logged as it is.
_CREDENTIAL = re.compile(r"\d{6}|.*eyJ[\w-]+\.[\w-]+\..*|.*[A-Za-z0-9_-]{43}.*")
_CODE_SEGMENT = re.compile(r"(?<=/)\d{6}(?=/|$)")
_ERROR_BODY_LIMIT = 8192

#: The request a log line belongs to: ``{"request_id": ..., "client_ip": ...}``, or None.
_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("authspec_request", default=None)


def current() -> dict[str, Any]:
    """The fields of the request being served (empty outside a request)."""
    return dict(_CONTEXT.get() or {})


def request_id_of(value: str | None) -> str:
    """The client's request id when it is well-formed, else a new one (uuid4 hex)."""
    if value is not None and _WELL_FORMED.fullmatch(value) and not _CREDENTIAL.fullmatch(value):
        return value
    return uuid.uuid4().hex


def redact_path(path: str) -> str:
    """The path with any 6-digit segment (a code sent where no operation takes one) masked; the
    formatter masks token shapes in it (no operation's path parameter is either)."""
    return _CODE_SEGMENT.sub("[redacted]", path)


def redact_query(query: str) -> str:
    """``a=1&token=x`` → ``a=[redacted]&token=[redacted]``: the names stay, no value does."""
    if not query:
        return ""
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
    return "&".join(f"{quote(name, safe='')}=[redacted]" for name in names)


def ua_family(user_agent: str | None) -> str:
    """``browser``, ``curl``, ``python``, ``node`` or ``other``: enough to tell traffic apart."""
    ua = (user_agent or "").lower()
    if ua.startswith("curl/"):
        return "curl"
    if ua.startswith(("python", "httpx", "aiohttp")) or "python-requests" in ua or "urllib" in ua:
        return "python"
    if ua.startswith(("node", "undici", "axios")) or "node-fetch" in ua:
        return "node"
    if ua.startswith("mozilla/"):
        return "browser"
    return "other"


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _error_code(body: bytes) -> str | None:
    try:
        parsed = decode(body)
    except ValueError:
        return None
    code = parsed.get("errorCode") if isinstance(parsed, dict) else None
    return code if isinstance(code, str) else None


class RequestObserver(Protocol):
    """What an app adds to the outermost layer: ``enter`` before an HTTP request goes in (it may
    change the scope; its result is handed to ``leave``), ``leave`` once it is answered (or failed),
    with the status sent (None: none) and the error envelope's ``errorCode``."""

    def enter(self, scope: dict[str, Any]) -> Any: ...

    def leave(self, entered: Any, scope: dict[str, Any], status: int | None, error_code: str | None) -> None: ...


class RequestLogMiddleware:
    """Give each HTTP request an id, echo it, and log one access line when it is answered."""

    def __init__(
        self, app: Any, trusted_proxies: Sequence[Network] = (), observer: RequestObserver | None = None
    ) -> None:
        self.app = app
        self.trusted = tuple(trusted_proxies)
        self.observer = observer

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(_header(scope, b"x-request-id"))
        client_ip = client_address(scope, self.trusted)
        token = _CONTEXT.set({"request_id": request_id, "client_ip": client_ip})
        answer: dict[str, Any] = {"status": None, "json_error": False}
        error_body = bytearray()

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
                answer["status"] = message["status"]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                answer["json_error"] = message["status"] >= 400 and b"json" in content_type
            elif message["type"] == "http.response.body" and answer["json_error"]:
                if len(error_body) < _ERROR_BODY_LIMIT:
                    error_body.extend(message.get("body", b"")[: _ERROR_BODY_LIMIT - len(error_body)])
            await send(message)

        entered = self.observer.enter(scope) if self.observer is not None else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            error_code = _error_code(bytes(error_body)) if error_body else None
            try:
                if self.observer is not None:
                    self.observer.leave(entered, scope, answer["status"], error_code)
            finally:
                if log.isEnabledFor(logging.INFO):  # the line's fields cost time even when not written
                    self._log(scope, answer["status"], error_code, started)
                _CONTEXT.reset(token)

    @staticmethod
    def _log(scope: dict[str, Any], status: int | None, error_code: str | None, started: float) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        entry = {
            "event": "http.request",
            "method": scope.get("method"),
            "path": redact_path(str(scope.get("path", ""))),
            "query": redact_query(query) or None,
            "status": status,
            "error_code": error_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "ua_family": ua_family(_header(scope, b"user-agent")),
        }
        log.info("%s %s %s", entry["method"], entry["path"], entry["status"], extra=entry)


#: The formatter of every line, by name: the core does not import the service's handlers.
FORMATTER = "authspec.handlers.logs.JsonFormatter"


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's ``log_config`` for ``authspec serve``/``mock``: its lines as JSON, no access log
    (this module writes it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": FORMATTER}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
