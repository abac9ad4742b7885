"""The benchmark's own parts that can go wrong silently: request specs, the limit reference's answers, the report.

Nothing here measures time: ``make bench`` does, and prints its figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from authspec.envelope import format_timestamp
from authspec.services.results import Principal, user_data
from authspec.settings import Settings
from bench import ops, report
from bench.limit import create_app as limit_app
from bench.loadgen import Pool, read_spec
from bench.seed import Seeder


def test_an_op_spec_reads_back_in_the_python_generator_with_the_token_in_headers_and_body(tmp_path: Path) -> None:
    op = ops.introspect("client", "secret")
    spec_file = tmp_path / "request.spec"
    spec_file.write_text(op.spec_lines())
    spec = read_spec(str(spec_file))
    assert (spec["method"], spec["path"], spec["mode"], spec["expect"]) == (op.method, op.path, "cycle", op.expect)
    assert spec["headers"] == op.headers
    request = Pool(spec, ["tok-1"]).request("127.0.0.1:1")
    head, _, body = request.partition(b"\r\n\r\n")
    assert body == b"token=tok-1"
    assert b"Content-Length: 11" in head.split(b"\r\n")
    assert f"Authorization: {ops.basic('client', 'secret')}".encode() in head.split(b"\r\n")


def test_a_rotating_pool_gives_each_answers_successor_back(tmp_path: Path) -> None:
    spec_file = tmp_path / "request.spec"
    spec_file.write_text(ops.REFRESH.spec_lines())
    pool = Pool(read_spec(str(spec_file)), ["first"])
    assert pool.request("h").endswith(b'{"refreshToken":"first"}')
    pool.give(b'{"data":{"refreshToken": "second"}}')
    assert pool.request("h").endswith(b'{"refreshToken":"second"}')


@pytest.mark.anyio
async def test_the_limit_reference_answers_sessions_me_and_refresh_as_the_service_does(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    settings = Settings(database_url=url, jwt_private_key_file=tmp_path / "keys.pem", mail_backend="console")
    seeder = Seeder(settings)
    try:
        await seeder.prepare()
        pool = await seeder.mint()
        info = await seeder.services.sessions.authenticate(pool.access[0])
        principal = Principal.from_token_info(info["sub"], info)
        listed = (await seeder.services.sessions.list(principal)).as_data()
        user = user_data(await seeder.services.auth.current_user(principal.user_id))
        app = limit_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://limit") as client:
            bearer = {"Authorization": f"Bearer {pool.access[0]}"}
            sessions = (await client.get("/api/v1/auth/sessions", headers=bearer)).json()
            me = (await client.get("/api/v1/auth/me", headers=bearer)).json()
            rotated = await client.post("/api/v1/auth/refresh", json={"refreshToken": pool.refresh[0]})
            again = await client.post("/api/v1/auth/refresh", json={"refreshToken": pool.refresh[0]})
            refused = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"})
        assert (sessions["isSuccess"], sessions["data"]) == (True, listed)
        assert (me["isSuccess"], me["data"]) == (True, user)
        assert len(me["timestamp"]) == len(format_timestamp(seeder.clock.now()))
        assert rotated.status_code == 200
        successor = rotated.json()["data"]
        assert set(successor) == {"accessToken", "refreshToken", "expiresIn", "refreshExpiresIn", "tokenType"}
        # What the limit issued, the service accepts: its access token and its successor.
        assert (await seeder.services.sessions.authenticate(successor["accessToken"]))["sid"] == principal.session_id
        assert (await seeder.services.tokens.refresh(successor["refreshToken"])).session_id == principal.session_id
        assert (again.status_code, again.json()["errorCode"]) == (401, "invalid_refresh_token")
        assert (refused.status_code, refused.json()["errorCode"]) == (401, "invalid_token")
    finally:
        await seeder.close()


def _row(
    section: str, kind: str, backend: str, operation: str, rps: float, like: str = "", **more: Any
) -> dict[str, Any]:
    return {
        "section": section,
        "target": report.target(kind, backend),
        "kind": kind,
        "backend": backend,
        "operation": operation,
        "like": like or operation,
        "rps": rps,
        "p50_ms": 10.0,
        "p99_ms": more.pop("p99_ms", 20.0),
        **more,
    }


def test_the_report_gives_each_row_its_ratios_and_says_which_targets_are_met() -> None:
    sessions, me, refresh = "GET /auth/sessions", "GET /auth/me", "POST /auth/refresh"
    rows = [
        _row("b", report.SERVICE, "SQLite", sessions, 1000),
        _row("b", report.BETTER_AUTH, "SQLite", "GET /api/auth/list-sessions", 400, like=sessions),
        _row("b", report.LIMIT, "SQLite", sessions, 10000),
        _row("b", report.CEILING, "SQLite", sessions, 1250),
        _row("b", report.SERVICE, "SQLite", me, 900),
        _row("b", report.BETTER_AUTH, "SQLite", "GET /api/auth/get-session", 600, like=me),
        _row("b", report.SERVICE, "SQLite", refresh, 700, p99_ms=40.0),
        _row("b", report.SERVICE, "PostgreSQL", refresh, 500, p99_ms=60.0),
        _row("a", report.PRISM, "", sessions, 2000),
        _row("a", report.MOCK, "", sessions, 2100),
    ]
    report.add_ratios(rows, previous=[{"target": "service · SQLite", "operation": sessions, "rps": 500}])
    service = rows[0]
    assert (service["x_peer"], service["x_ceiling"], service["x_limit"], service["x_prev"]) == (2.5, 0.8, 0.1, 2.0)
    assert rows[1]["x_limit"] == 0.04 and "x_limit" not in rows[2]
    assert rows[9]["x_peer"] == 1.05
    met = {item["target"]: item["met"] for item in report.targets(rows, connections=32)}
    assert met["service GET /auth/sessions over better-auth list-sessions (SQLite)"] is True
    assert met["service GET /auth/me over better-auth get-session (SQLite)"] is False
    assert met["service POST /auth/refresh p99 ms, SQLite"] is True
    assert met["service POST /auth/refresh p99 ms, PostgreSQL"] is False
    assert met["service POST /auth/refresh req/s over issue 14's 216, SQLite"] is True
    assert met["service POST /auth/refresh req/s over issue 14's 236, PostgreSQL"] is False
    assert met["mock GET /auth/sessions over Prism"] is True
    assert met["mock GET /auth/me over Prism"] is None
    at_8 = {item["target"]: item["met"] for item in report.targets(rows, connections=8)}
    assert at_8["service POST /auth/refresh p99 ms, SQLite (measured at 8 connections, not 32)"] is None
