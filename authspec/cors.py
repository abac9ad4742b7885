"""Cross-origin access: which browser pages may call an app, and the headers that say so.

One ASGI middleware serves both apps with a different ``CorsPolicy``:

- the mock is open by default, as Prism is: any origin is echoed (never ``*``, so that credentialed
  requests work), ``AUTHSPEC_CORS_ORIGINS`` narrows it to a list and ``AUTHSPEC_MOCK_CORS=false``
  (``authspec mock --no-cors``) turns it off;
- the real service is closed until ``AUTHSPEC_CORS_ORIGINS`` lists its frontends' origins.

A preflight from an allowed origin answers 204 and allows the requested method and headers (the
origin is trusted, so its requested headers are reflected, as the ``cors`` package of Express
does); one from another origin answers a 403 envelope naming the origin and the setting, and is
logged with that reason. Every answer to a request with an ``Origin`` carries ``Vary: Origin``, and
allowed ones expose by name the headers a client reads (``Retry-After``, ``WWW-Authenticate``, ...).
Origins are checked when the settings are read (``normalise_origin``): a trailing slash is dropped,
a path, a query or a scheme other than http(s) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authspec.clock import Clock
from authspec.envelope import dumps, failure

log = logging.getLogger("authspec.cors")

#: Response headers page code may read, besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("Retry-After", "WWW-Authenticate", "Preference-Applied", "Allow", "Location", "X-Request-ID")
#: Methods a preflight may ask for; the contract uses GET, POST and DELETE.
ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD")
#: How long a browser may cache a preflight answer (seconds).
MAX_AGE = 600
ANY_ORIGIN = "*"


def normalise_origin(value: str) -> str:
    """``value`` as a browser sends it in ``Origin`` (``scheme://host[:port]``), or ``ValueError``.

    The error message is one line that names the setting, for the CLI to print as it is.
    """
    text = value.strip()
    if text == ANY_ORIGIN:
        return text
    parts = urlsplit(text)
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "must start with http:// or https://"
    elif not parts.hostname:
        problem = "has no host"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "must be an origin (scheme://host[:port]) without a path, query or fragment"
    elif parts.username or parts.password:
        problem = "must not carry credentials"
    if problem is None:
        try:
            port = parts.port
        except ValueError:
            problem = "has an invalid port"
    if problem is not None:
        raise ValueError(f"AUTHSPEC_CORS_ORIGINS: {text!r} {problem}")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}"


@dataclass(frozen=True)
class CorsPolicy:
    """Which origins may call the app; ``origins=None`` allows every origin (the mock's default)."""

    origins: frozenset[str] | None
    allow_private_network: bool = False
    exposed: tuple[str, ...] = EXPOSED_HEADERS

    @classmethod
    def of(cls, origins: Iterable[str], *, allow_private_network: bool = False) -> CorsPolicy:
        listed = frozenset(origins)
        return cls(None if ANY_ORIGIN in listed else listed, allow_private_network)

    def allows(self, origin: str) -> bool:
        return self.origins is None or origin in self.origins


def _vary(headers: MutableHeaders, *names: str) -> None:
    present = {v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()}
    for name in names:
        if name.lower() not in present:
            headers.add_vary_header(name)
            present.add(name.lower())


class CorsMiddleware:
    """Answer preflights and mark cross-origin answers according to ``policy``."""

    def __init__(self, app: ASGIApp, policy: CorsPolicy, clock: Clock) -> None:
        self.app = app
        self.policy = policy
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return
        allowed = self.policy.allows(origin)

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                _vary(response_headers, "Origin")
                if allowed:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Allow-Credentials"] = "true"
                    response_headers["Access-Control-Expose-Headers"] = ", ".join(self.policy.exposed)
            await send(message)

        await self.app(scope, receive, send_marked)

    async def _preflight(self, origin: str, headers: Headers, send: Send) -> None:
        method = headers["access-control-request-method"].strip().upper()
        if not self.policy.allows(origin):
            reason = f"origin {origin!r} is not in AUTHSPEC_CORS_ORIGINS"
        elif method not in ALLOWED_METHODS:
            reason = f"method {method[:20]!r} is not allowed"
        else:
            reason = None
        if reason is not None:
            log.warning("CORS preflight refused: %s", reason)
            body = dumps(
                failure(403, "forbidden", ["Forbidden", f"CORS preflight refused: {reason}"], self.clock.now())
            )
            response_headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin"),
            ]
            await send({"type": "http.response.start", "status": 403, "headers": response_headers})
            await send({"type": "http.response.body", "body": body})
            return
        allowed = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-max-age", str(MAX_AGE).encode()),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ]
        requested = headers.get("access-control-request-headers")
        if requested:
            allowed.append((b"access-control-allow-headers", requested.encode("latin-1")))
        if self.policy.allow_private_network and headers.get("access-control-request-private-network") == "true":
            allowed.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": allowed})
        await send({"type": "http.response.body", "body": b""})
