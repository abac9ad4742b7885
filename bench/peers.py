"""Pools of live tokens from servers the benchmark cannot seed directly: the mock and better-auth.

``mock_pool`` signs 32 users in (4 sessions each) through the mock's own API and its outbox;
``better_auth_server`` starts better-auth (``bench/better-auth/server.mjs``) on a fresh SQLite
file and ``better_auth_pool`` signs 32 users up and in (4 sessions each) over HTTP, keeping the
session token of each answer's ``set-auth-token`` header (the bearer plugin's). ``check`` sends
one request of an ``Op`` and refuses an answer that is not 2xx with the expected data.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx

from bench.ops import Op
from bench.servers import Server, Tools

USERS = 32
SESSIONS_PER_USER = 4


def mock_pool(url: str) -> tuple[list[str], list[str]]:
    """32 users with 4 sessions each on a running mock: (access tokens, refresh tokens)."""
    access, refresh = [], []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(USERS):
            email = f"pool{n}@bench.example"
            for _ in range(SESSIONS_PER_USER):
                client.post("/api/v1/auth/email/request-code", json={"email": email}).raise_for_status()
                code = client.get("/__mock/outbox", params={"to": email}).json()["data"][-1]["code"]
                data = client.post("/api/v1/auth/email/verify", json={"email": email, "code": code}).json()["data"]
                if data["status"] == "registration_required":
                    body = {"registrationToken": data["registrationToken"], "firstName": "Pool", "lastName": "User"}
                    data = client.post("/api/v1/auth/register", json=body).json()["data"]
                access.append(data["tokens"]["accessToken"])
                refresh.append(data["tokens"]["refreshToken"])
    return access, refresh


def better_auth_version(tools: Tools) -> str:
    if tools.better_auth is None:
        return "?"
    package = tools.better_auth.parent / "node_modules" / "better-auth" / "package.json"
    try:
        return str(json.loads(package.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def better_auth_server(tools: Tools, database: Path) -> Server:
    """better-auth on a fresh SQLite file (its tables created by its own migrations at start)."""
    assert tools.better_auth is not None
    for suffix in ("", "-wal", "-shm"):
        Path(str(database) + suffix).unlink(missing_ok=True)
    command = ["node", str(tools.better_auth), "{port}", str(database)]
    env = {"BETTER_AUTH_SECRET": secrets.token_urlsafe(32), "NODE_ENV": "production"}
    return Server("better-auth", command, env, tools, "/api/auth/ok")


def better_auth_pool(url: str) -> list[str]:
    """Session tokens of 32 users with 4 sessions each: a sign-up, then three sign-ins, per user."""
    tokens = []
    password = secrets.token_urlsafe(16)
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(USERS):
            email = f"pool{n}@bench.example"
            body = {"email": email, "password": password, "name": f"Pool User {n}"}
            for k in range(SESSIONS_PER_USER):
                if k == 0:
                    answer = client.post("/api/auth/sign-up/email", json=body)
                else:
                    answer = client.post("/api/auth/sign-in/email", json={"email": email, "password": password})
                if answer.status_code != 200 or not answer.headers.get("set-auth-token"):
                    raise RuntimeError(f"better-auth sign-in: {answer.status_code} {answer.text[:200]}")
                tokens.append(answer.headers["set-auth-token"])
                client.cookies.clear()  # a bearer client keeps no cookie (with one, sign-in wants an Origin)
    return tokens


def check(url: str, op: Op, token: str) -> None:
    """One request of ``op``: it must answer 2xx with ``op.expect`` in its body, or the row is wrong."""
    headers = {name: value.replace("{token}", token) for name, value in op.headers.items()}
    body = op.body.replace("{token}", token).encode() if op.body else None
    answer = httpx.request(op.method, url + op.path, headers=headers, content=body, timeout=30)
    if not answer.is_success or op.expect not in answer.text:
        raise RuntimeError(f"{op.method} {url}{op.path} answered {answer.status_code}: {answer.text[:300]}")
