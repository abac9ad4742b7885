"""Running the service: health and readiness, structured logs without secrets, signing keys (dev key
beside the database, prod refusal, rotate/retire/reload), Redis limits, several instances on one
database, and the whole walkthrough against ``authspec serve`` in a subprocess."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from authspec.handlers.app import create_app
from authspec.handlers.logs import REDACTED, JsonFormatter
from starlette.testclient import TestClient

from authspec.cli import main
from authspec.keys import Keyring
from authspec.settings import Settings
from authspec.storage.keyfile import KeyfileError
from authspec.storage.tables import email_codes, sessions
from tests.helpers import assert_error, clean_env, free_port
from tests.service.conftest import REDIS_URL
from tests.service.support import Api, data

EMAIL = "ada@example.com"


# -- health --------------------------------------------------------------------------------------------


def test_health_and_readiness(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api.client.get("/healthz").json()["data"] == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert (ready.status_code, ready.json()["data"]) == (200, {"status": "ready"})

    async def unreachable() -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(api.app.authspec.extras["storage"].repository, "ping", unreachable)
    assert_error(api.client.get("/readyz"), 503, "service_unavailable")
    assert api.client.get("/healthz").status_code == 200


def test_a_database_failure_is_503(api: Api, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from authspec.storage.hot import SqliteHot
    from authspec.storage.repository import _end_session
    from authspec.storage.sqlite import LoopConnection

    storage = api.app.authspec.extras["storage"]
    db, repo = storage.db, storage.repository
    working, working_hot = db._sqlite, repo.hot
    db._sqlite = LoopConnection(make_url(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"))
    repo.hot = SqliteHot(db, _end_session)  # the hot path on the failing database too
    try:
        assert_error(api.post("/auth/email/request-code", {"email": EMAIL}), 503, "service_unavailable")
        assert_error(api.post("/auth/refresh", {"refreshToken": "A" * 43}), 503, "service_unavailable")
    finally:
        db._sqlite, repo.hot = working, working_hot
    data(api.post("/auth/email/request-code", {"email": EMAIL}))


def test_migrate_command_without_a_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    assert main(["migrate"]) == 2
    assert "cannot reach the database" in capsys.readouterr().err


# -- logs ---------------------------------------------------------------------------------------------------


def test_logs_are_json_and_never_carry_tokens_or_codes(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="authspec")
    code = api.request_code(EMAIL)
    registration = data(api.verify(EMAIL, code))["registrationToken"]
    body = {"registrationToken": registration, "firstName": "Ada", "lastName": "Lovelace"}
    tokens = data(api.post("/auth/register", body), 201)["tokens"]
    pair = data(api.refresh(tokens["refreshToken"]))
    api.clock.advance(11)
    api.refresh(tokens["refreshToken"])  # reuse: a warning with the session id
    secrets = [
        code,
        registration,
        tokens["accessToken"],
        tokens["refreshToken"],
        pair["refreshToken"],
        pair["accessToken"],
    ]
    lines = [JsonFormatter().format(record) for record in caplog.records if record.name.startswith("authspec")]
    events = [json.loads(line).get("event") for line in lines]
    assert {"code.sent", "registration.required", "registered", "refresh.rotated", "refresh.reused"} <= set(events)
    for line in lines:
        for secret in secrets:
            assert secret not in line


def test_the_formatter_redacts_token_shaped_strings() -> None:
    record = logging.makeLogRecord(
        {"msg": "got %s", "args": ("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",), "detail": "A" * 43}
    )
    line = JsonFormatter().format(record)  # the formatter redacts: no filter is needed
    assert "eyJ" not in line and "A" * 43 not in line and line.count(REDACTED) == 2


# -- signing keys ---------------------------------------------------------------------------------------------


def test_a_dev_key_is_generated_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'service.db'}", mail_backend="memory")
    app = create_app(settings)
    path = tmp_path / "data" / "service.keys.pem"
    with TestClient(app) as client:
        assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
        kid = app.authspec.extras["keyring"].active.kid
        assert client.get("/.well-known/jwks.json").json()["keys"][0]["kid"] == kid
    assert create_app(settings).authspec.extras["keyring"].active.kid == kid  # kept across starts


def test_a_start_that_fails_leaves_no_key_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    key = tmp_path / "keys.pem"
    settings = Settings(
        database_url=f"sqlite:///{blocker / 'service.db'}", jwt_private_key_file=key, mail_backend="memory"
    )
    with pytest.raises(OSError), TestClient(create_app(settings)):  # the database's folder cannot be made
        pass
    assert not key.exists()


def test_prod_refuses_to_start_without_its_key(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    secret = tmp_path / "service.secret"
    assert main(["secrets", "init", "--file", str(secret)]) == 0
    settings = Settings(
        env="prod",
        database_url=f"sqlite:///{tmp_path / 'a.db'}",
        mail_backend="smtp",
        jwt_private_key_file=missing,
        secret_file=secret,
    )
    with pytest.raises(KeyfileError, match=r"AUTHSPEC_ENV=prod and the signing key file .*missing\.pem does not exist"):
        create_app(settings)
    assert not missing.exists()


def test_serve_explains_a_missing_prod_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTHSPEC_ENV", "prod")
    monkeypatch.setenv("AUTHSPEC_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    assert main(["secrets", "init", "--file", str(tmp_path / "service.secret")]) == 0
    monkeypatch.setenv("AUTHSPEC_SECRET_FILE", str(tmp_path / "service.secret"))
    assert main(["serve"]) == 2
    assert "AUTHSPEC_JWT_PRIVATE_KEY_FILE must name the signing key" in capsys.readouterr().err
    monkeypatch.setenv("AUTHSPEC_JWT_PRIVATE_KEY_FILE", str(tmp_path / "missing.pem"))
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "authspec keys rotate --file" in err and "Traceback" not in err


def test_keys_rotate_and_retire_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.pem"
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    first = Keyring.load(path).active.kid
    assert main(["keys", "rotate", "--file", str(path), "--delay", "0"]) == 0
    ring = Keyring.load(path)
    assert len(ring.keys) == 2 and ring.keys[1].kid == first
    assert main(["keys", "retire", "--file", str(path)]) == 0
    assert [k.kid for k in Keyring.load(path).keys] == [ring.active.kid]
    out = capsys.readouterr().out
    assert "signs" in out and "retired 1 key(s)" in out
    assert main(["keys", "retire", "--file", str(tmp_path / "none.pem")]) == 2


def test_a_running_service_picks_up_a_rotated_key_file(make_api: Callable[..., Api]) -> None:
    from authspec.storage.keyfile import rotate

    api = make_api(key_reload_interval=0.05)
    old = api.login(EMAIL)
    rotate(api.settings.jwt_private_key_file, now=api.clock.now(), delay=0)
    deadline = time.monotonic() + 5
    while len(api.client.get("/.well-known/jwks.json").json()["keys"]) < 2:
        assert time.monotonic() < deadline, "the rotated key file was not picked up"
        time.sleep(0.05)
    data(api.get("/auth/me", old.access))


def test_ended_sessions_are_purged_after_a_day(make_api: Callable[..., Api]) -> None:
    api = make_api(purge_delay=0, purge_interval=0.05)
    ended, kept = api.login(EMAIL, device="ended"), api.login(EMAIL, device="kept")
    data(api.post("/auth/logout", {"scope": "current"}, ended.access))
    api.clock.advance(86400 + 600)  # a day after the session ended and after the last code expired
    deadline = time.monotonic() + 5
    while len(api.rows(sessions)) > 1:
        assert time.monotonic() < deadline, "the ended session was not purged"
        time.sleep(0.05)
    assert [s["device_name"] for s in api.rows(sessions)] == ["kept"]
    assert api.rows(email_codes) == []
    data(api.refresh(kept.refresh))  # the live session survives


# -- Redis -------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set")
def test_limits_live_in_redis_when_configured(make_api: Callable[..., Api]) -> None:
    api = make_api(redis_url=REDIS_URL)
    email = f"redis-{time.time_ns()}@example.com"
    data(api.post("/auth/email/request-code", {"email": email}))
    other = make_api(redis_url=REDIS_URL)  # another instance shares the cooldown
    assert_error(other.post("/auth/email/request-code", {"email": email}), 429, "rate_limited")
    assert api.client.get("/readyz").status_code == 200


# -- several instances ----------------------------------------------------------------------------------------------


def test_a_revocation_through_one_instance_is_refused_by_another_at_once(make_api: Callable[..., Api]) -> None:
    one, two = make_api(), make_api()
    laptop = one.login(EMAIL, device="laptop")
    phone = one.login(EMAIL, device="phone")
    data(two.get("/auth/me", phone.access))
    target = next(s for s in two.sessions(laptop) if s["deviceName"] == "phone")
    data(one.post(f"/sessions/{target['id']}/revoke", token=laptop.access))
    assert_error(two.get("/auth/me", phone.access), 401, "session_ended")
    assert_error(two.refresh(phone.refresh), 401, "invalid_refresh_token")
    pair = data(two.refresh(laptop.refresh))  # rotation in one instance, use in the other
    data(one.get("/auth/me", pair["accessToken"]))
    data(one.post("/auth/logout", {"scope": "all"}, pair["accessToken"]))
    assert_error(two.get("/auth/me", pair["accessToken"]), 401, "session_ended")


# -- the walkthrough against `authspec serve` -----------------------------------------------------------------------


def _serve(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = clean_env()
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "authspec.cli", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/readyz").status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"authspec serve did not start: {process.communicate()[1]}")
        time.sleep(0.1)


def _code_from(stdout: Any) -> str:
    for line in stdout:
        if re.fullmatch(r"[0-9]{6}", line.strip()):
            return str(line.strip())
    raise AssertionError("no code on the console")


@pytest.mark.slow
def test_walkthrough_against_authspec_serve(tmp_path: Path) -> None:
    process, base = _serve(tmp_path)
    api = httpx.Client(base_url=base + "/api/v1", headers={"User-Agent": "walkthrough"})
    try:
        data(api.post("/auth/email/request-code", json={"email": EMAIL}))
        code = _code_from(process.stdout)
        verified = data(api.post("/auth/email/verify", json={"email": EMAIL, "code": code, "deviceName": "cli"}))
        assert verified["status"] == "registration_required"
        body = {"registrationToken": verified["registrationToken"], "firstName": "Ada", "lastName": "Lovelace"}
        first = data(api.post("/auth/register", json=body), 201)["tokens"]
        rotated = data(api.post("/auth/refresh", json={"refreshToken": first["refreshToken"]}))
        auth = {"Authorization": f"Bearer {rotated['accessToken']}"}
        [session] = data(api.get("/auth/sessions", headers=auth))
        assert session["current"] is True and session["ip"] == "127.0.0.1" and session["userAgent"] == "walkthrough"
        assert data(api.get("/auth/me", headers=auth))["email"] == EMAIL
        jwks = httpx.get(base + "/.well-known/jwks.json").json()
        assert len(jwks["keys"]) == 1
        assert data(api.post("/auth/logout", headers=auth)) == {"revokedSessions": 1}
        assert api.get("/auth/me", headers=auth).json()["errorCode"] == "session_ended"
    finally:
        api.close()
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    # uvicorn finishes in-flight requests and the lifespan, then re-raises SIGTERM for the parent to see.
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert '"event": "service.stopped"' in stderr  # the lifespan closed the database on the way out
    assert (tmp_path / "authspec.db").exists() and (tmp_path / "authspec.keys.pem").exists()
    for secret in (code, first["refreshToken"], rotated["accessToken"]):
        assert secret not in stderr
