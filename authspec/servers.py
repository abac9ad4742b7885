"""The ``servers`` each app serves: itself first, so Swagger UI's "Try it out" calls the app it came from.

The contract's own ``servers`` (``https://{domain}/api/v1`` and a Development entry with variables) are
for publishing (``authspec bundle``). A running app replaces them when it serves the document:

- the mock lists itself first, at the origin that asked (a mock on ``:24010``, or opened as
  ``localhost``, works without editing variables), then Development from ``AUTHSPEC_MOCK_URL`` and
  Production from ``AUTHSPEC_PUBLIC_URL`` when those are set;
- the service lists ``AUTHSPEC_PUBLIC_URL`` first when set (then the origin that asked, when it
  differs), else the origin that asked; then Development from ``AUTHSPEC_MOCK_URL``.

Production is only ever listed from a configured URL, and always with the production warning. The
origin that asked is taken from the request's scheme and ``Host`` header when the header is a plain
``host[:port]``; otherwise the entry is the relative base path, which a client resolves against the
document's own URL. Path items at the site root (the JWKS, health) keep their relative ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

#: Servers of a served document, from the origin that asked (None when it could not be told).
ServersOf = Callable[[str | None], list[dict[str, Any]]]

PRODUCTION = "Production — calls change real data: real users, real sessions, real email"
DEVELOPMENT = "Development (mock) — in-memory data, safe to try"
THIS_MOCK = "This mock — in-memory data, safe to try"
THIS_SERVICE = "This server (the origin this document was read from)"
THIS_CONTROL_API = "This mock's control API"

_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)


def request_origin(scheme: str, host: str | None) -> str | None:
    """``scheme://host`` of a request, or None when its ``Host`` header is not a plain ``host[:port]``."""
    if scheme not in ("http", "https") or not host or not _HOST.match(host):
        return None
    return f"{scheme}://{host.lower()}"


def normalise_base_url(value: str, setting: str, api_base: str = "/api/v1") -> str:
    """A configured base URL (``AUTHSPEC_PUBLIC_URL``) without a trailing slash or the API's base path.

    ``https://auth.example.com``, ``https://auth.example.com/`` and ``https://auth.example.com/api/v1``
    all give ``https://auth.example.com``; a prefix a proxy mounts the service under stays. Anything
    that is not an http(s) URL without query or fragment raises ``ValueError`` naming ``setting``.
    """
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting}: {text!r} must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise ValueError(f"{setting}: {text!r} must not have a query or fragment")
    path = parts.path.rstrip("/")
    path = path.removesuffix(api_base)
    return f"{parts.scheme}://{parts.netloc}{path}"


@dataclass(frozen=True)
class ServedServers:
    """The ``servers`` of the main document served by the ``role`` app."""

    role: Literal["service", "mock"]
    api_base: str
    public_url: str | None = None
    mock_url: str | None = None

    def __call__(self, origin: str | None) -> list[dict[str, Any]]:
        here = (origin or "") + self.api_base
        entries: list[dict[str, Any]] = []
        production = None if self.public_url is None else self.public_url + self.api_base
        development = None if self.mock_url is None else self.mock_url + self.api_base
        if self.role == "mock":
            entries.append({"url": here, "description": THIS_MOCK})
            if development is not None and development != here:
                entries.append({"url": development, "description": DEVELOPMENT})
            if production is not None:
                entries.append({"url": production, "description": PRODUCTION})
            return entries
        if production is not None:
            entries.append({"url": production, "description": PRODUCTION})
            if here != production:
                entries.append({"url": here, "description": THIS_SERVICE})
        else:
            entries.append({"url": here, "description": THIS_SERVICE})
        if development is not None:
            entries.append({"url": development, "description": DEVELOPMENT})
        return entries


def control_servers(prefix: str) -> ServersOf:
    """The mock's control API, at the origin that asked."""

    def servers(origin: str | None) -> list[dict[str, Any]]:
        return [{"url": (origin or "") + prefix, "description": THIS_CONTROL_API}]

    return servers
