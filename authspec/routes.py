"""The methods each documented path accepts, for a correct ``Allow`` header on a 405.

Connexion lists only the first route's methods when several routes share a path template; the
error renderer asks this table instead, built from the documents an app serves (and the
redirects it adds).
"""

from __future__ import annotations

import re

from authspec.spec import HTTP_METHODS, Spec, path_pattern


class RouteTable:
    """The documented paths of every API an app serves, with the methods each accepts."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], set[str]]] = []

    def add(self, prefix: str, spec: Spec) -> None:
        for template, item in spec.get("paths", {}).items():
            methods = {m.upper() for m in HTTP_METHODS if m in item}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
            self._routes.append((path_pattern(prefix.rstrip("/") + template, trailing_slash=True), methods))

    def add_route(self, path: str, methods: set[str]) -> None:
        """A route outside the documents (a redirect), answering ``methods`` at exactly ``path``."""
        self._routes.append((re.compile(re.escape(path) + r"\Z"), set(methods)))

    def allowed(self, path: str) -> list[str]:
        """The methods documented for ``path`` (empty when no documented path matches)."""
        found: set[str] = set()
        for pattern, methods in self._routes:
            if pattern.match(path):
                found |= methods
        return sorted(found)
