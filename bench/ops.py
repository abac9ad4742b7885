"""What the benchmark sends: one ``Op`` per measured operation, any method, path, headers and body.

An ``Op`` is a request template: ``{token}`` in a header value or in the body is replaced by a
token of the measurement's pool. In ``cycle`` mode the pool is used round robin (bearer tokens);
in ``rotate`` mode every request consumes a token and each answer's ``successor`` field (a JSON
string member) goes back to the pool, so every refresh rotates a fresh token. A request counts
as an error unless it answers 2xx and, when ``expect`` is set, its body contains ``expect``
(better-auth answers ``200 null`` to an unknown session). ``spec_lines`` is the file format that
``pool.lua`` and ``bench.loadgen`` read. Adding a row with a custom request is one ``Op``:

    Op("POST /auth/introspect", "POST", "/api/v1/auth/introspect",
       headers={"Authorization": basic("client", "secret"), "Content-Type": FORM}, body="token={token}")
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BEARER = {"Authorization": "Bearer {token}"}


@dataclass(frozen=True)
class Op:
    label: str  # the row's operation, e.g. "GET /auth/sessions"
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    mode: str = "cycle"  # or "rotate"
    successor: str = "refreshToken"
    expect: str = ""

    def at(self, prefix: str) -> Op:
        """The same request under another base path (Prism serves the paths without ``/api/v1``)."""
        return replace(self, path=prefix + self.path.removeprefix("/api/v1"))

    def spec_lines(self) -> str:
        lines = [f"method\t{self.method}", f"path\t{self.path}", f"mode\t{self.mode}", f"successor\t{self.successor}"]
        lines += [f"header\t{name}: {value}" for name, value in self.headers.items()]
        if self.body:
            lines.append(f"body\t{self.body}")
        if self.expect:
            lines.append(f"expect\t{self.expect}")
        return "\n".join(lines) + "\n"


def basic(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


SESSIONS = Op("GET /auth/sessions", "GET", "/api/v1/auth/sessions", headers=BEARER, expect='"createdAt"')
ME = Op("GET /auth/me", "GET", "/api/v1/auth/me", headers=BEARER, expect='"email"')
REFRESH = Op(
    "POST /auth/refresh",
    "POST",
    "/api/v1/auth/refresh",
    headers={"Content-Type": JSON},
    body='{"refreshToken":"{token}"}',
    mode="rotate",
    expect='"refreshToken"',
)
# Prism answers canned examples: any 2xx body will do.
PRISM = {op.label: replace(op, expect="").at("") for op in (SESSIONS, ME, REFRESH)}
# better-auth (bearer plugin): the session token of a sign-in in Authorization.
BA_LIST = Op("GET /api/auth/list-sessions", "GET", "/api/auth/list-sessions", headers=BEARER, expect='"token"')
BA_SESSION = Op("GET /api/auth/get-session", "GET", "/api/auth/get-session", headers=BEARER, expect='"session"')


def introspect(client_id: str, client_secret: str) -> Op:
    """RFC 7662 introspection of a pool token by a client with HTTP Basic credentials (a row to come)."""
    return Op(
        "POST /auth/introspect",
        "POST",
        "/api/v1/auth/introspect",
        headers={"Authorization": basic(client_id, client_secret), "Content-Type": FORM},
        body="token={token}",
        expect='"active":true',
    )


def protected(path: str = "/protected") -> Op:
    """A bearer-protected route of an app verifying tokens locally (a row to come)."""
    return Op(f"GET {path}", "GET", path, headers=BEARER)
