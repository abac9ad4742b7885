"""A real ``authspec serve`` with its logs captured: every line it writes (uvicorn's too) is one JSON
object, and no token, code, registration token or email a client sent — in the body, the query,
the path or a header — appears in any of them. The console mailer's stdout (where a developer
reads the code) goes to a file of its own: it is mail, not log."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ServerProcess, clean_env

EMAIL = "Grace.Hopper+logs@Example.com"


def _serve(tmp_path: Path, mail: Path) -> ServerProcess:
    env = clean_env(
        AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        AUTHSPEC_MAIL_BACKEND="console",
        AUTHSPEC_TRUSTED_PROXIES="127.0.0.1",
    )

    def command(port: int) -> list[str]:
        serve = [sys.executable, "-m", "authspec.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--log-level", "info"]  # fmt: skip
        return ["sh", "-c", 'out="$1"; shift; exec "$@" >"$out"', "sh", str(mail), *serve]

    return ServerProcess(command, env=env, log=tmp_path / "serve.log", lifetime=120)


def _code(mail: Path, sent_before: int) -> str:
    codes = re.findall(r"^(\d{6})$", mail.read_text(), flags=re.MULTILINE)
    assert len(codes) > sent_before, mail.read_text()
    return codes[-1]


def _everywhere(http: httpx.Client, secret: str) -> list[int]:
    """``secret`` sent in a body, a query, a path and headers (bearer, cookie, custom, request id)."""
    headers = {"Authorization": f"Bearer {secret}", "Cookie": f"session={secret}", "X-Token": secret}
    return [
        http.post("/auth/refresh", json={"refreshToken": secret}, headers={"X-Request-ID": secret}).status_code,
        http.post("/auth/register", json={"registrationToken": secret, "firstName": "G", "lastName": "H"}).status_code,
        http.get(f"/auth/sessions?access_token={secret}&code={secret}", headers=headers).status_code,
        http.post(f"/sessions/{secret}/revoke", headers=headers).status_code,
        http.get(f"/auth/{secret}").status_code,
        http.post("/auth/email/verify", json={"email": EMAIL, "code": secret}).status_code,
    ]


@pytest.mark.slow
def test_no_secret_or_email_reaches_any_log_line_of_a_real_server(tmp_path: Path) -> None:
    mail = tmp_path / "mail.txt"
    secrets: list[str] = []
    with _serve(tmp_path, mail) as server, httpx.Client(base_url=server.api, timeout=10) as http:
        proxied = {"X-Forwarded-For": "198.51.100.20", "User-Agent": "curl/8.5.0"}
        assert http.post("/auth/email/request-code", json={"email": EMAIL}, headers=proxied).status_code == 200
        code = _code(mail, 0)
        wrong = "000000" if code != "000000" else "111111"
        assert http.post("/auth/email/verify", json={"email": EMAIL, "code": wrong}).status_code == 401
        verified = http.post("/auth/email/verify", json={"email": EMAIL, "code": code}, headers=proxied).json()
        registration = verified["data"]["registrationToken"]
        body = {"registrationToken": registration, "firstName": "Grace", "lastName": "Hopper"}
        tokens = http.post("/auth/register", json=body).json()["data"]["tokens"]
        refreshed = http.post("/auth/refresh", json={"refreshToken": tokens["refreshToken"]}).json()["data"]
        secrets = [code, wrong, registration, tokens["accessToken"], tokens["refreshToken"]]
        secrets += [refreshed["accessToken"], refreshed["refreshToken"]]
        statuses = [status for secret in secrets for status in _everywhere(http, secret)]
        assert 500 not in statuses and all(s < 500 for s in statuses), statuses
    lines = [line for line in (tmp_path / "serve.log").read_text().splitlines() if line.strip()]
    entries: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line is JSON, uvicorn's too
    loggers = {entry["logger"] for entry in entries}
    assert {"uvicorn.error", "authspec.access", "authspec.auth"} <= loggers, loggers
    assert "uvicorn.access" not in loggers
    probes = "/api/v1/openapi.json"  # ServerProcess's readiness probe
    access = [e for e in entries if e.get("event") == "http.request" and e["path"] != probes]
    assert len(access) == 5 + 7 * 6, len(access)  # one line per request made
    assert access[0]["client_ip"] == "198.51.100.20" and access[0]["ua_family"] == "curl"
    text = "\n".join(lines)
    for secret in secrets:
        assert secret not in text, secret
    for email in (EMAIL, EMAIL.lower(), "grace.hopper", "example.com"):
        assert email.lower() not in text.lower(), email
