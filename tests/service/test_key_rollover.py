"""Key rollover and the service secret in the running service: a pending key starts to sign at its
time without a reload, rotating and retiring keys voids no code and no grace-window successor,
the dev secret file beside the database, prod's refusal of missing or shared key and secret
files, the files' 0600 modes, and the ``authspec keys`` / ``authspec secrets`` commands."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from authspec.handlers.app import create_app, reload_keys
from starlette.testclient import TestClient

from authspec.cli import main
from authspec.keys import Keyring
from authspec.settings import Settings
from authspec.storage.keyfile import KeyfileError, retire, rotate
from authspec.storage.secretfile import SecretFileError, read_secret, secret_path
from tests.helpers import assert_error
from tests.service.support import Api, data

EMAIL = "ada@example.com"


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _jwks_kids(api: Api) -> list[str]:
    return [k["kid"] for k in api.client.get("/.well-known/jwks.json").json()["keys"]]


def _rotate_and_retire(api: Api) -> Keyring:
    """What an operator does, compressed: rotate (signing at once), retire the old key; the watcher's reload."""
    path = api.settings.jwt_private_key_file
    rotate(path, now=api.clock.now(), delay=0)
    ring, dropped = retire(path, now=api.clock.now())
    assert dropped == 1
    reload_keys(api.services, ring)
    return ring


# -- the service ---------------------------------------------------------------------------------------------


def test_a_pending_key_signs_from_its_activation_time_without_a_reload(make_api: Callable[..., Api]) -> None:
    api = make_api(key_reload_interval=3600)  # the watcher stays out of it
    login = api.login(EMAIL)
    old_kid = _kid(login.access)
    path = api.settings.jwt_private_key_file
    rotate(path, now=api.clock.now(), delay=60)
    reload_keys(api.services, Keyring.load(path))
    new_kid = Keyring.load(path).keys[0].kid
    assert _jwks_kids(api) == [new_kid, old_kid]  # published at once
    api.clock.advance(59)
    before = data(api.refresh(login.refresh))
    api.clock.advance(1)
    after = data(api.refresh(before["refreshToken"]))
    assert (_kid(before["accessToken"]), _kid(after["accessToken"])) == (old_kid, new_kid)
    for token in (login.access, before["accessToken"], after["accessToken"]):
        data(api.get("/auth/me", token))


def test_a_code_emailed_before_keys_rotate_and_retire_still_verifies(make_api: Callable[..., Api]) -> None:
    running = make_api()
    code = running.request_code(EMAIL)
    other_code = running.request_code("grace@example.com")
    old_kids = _jwks_kids(running)
    running.clock.advance(1)
    ring = _rotate_and_retire(running)
    assert set(_jwks_kids(running)).isdisjoint(old_kids) and _jwks_kids(running) == [ring.keys[0].kid]
    assert data(running.verify(EMAIL, code))["status"] == "registration_required"
    started_later = make_api()  # an instance that never saw the old key
    assert data(started_later.verify("grace@example.com", other_code))["status"] == "registration_required"


def test_a_grace_window_replay_after_keys_rotate_and_retire_gets_the_same_successor(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    login = api.login(EMAIL)
    child = data(api.refresh(login.refresh))
    api.clock.advance(1)
    ring = _rotate_and_retire(api)
    again = data(api.refresh(login.refresh))  # inside REFRESH_GRACE (10 s)
    assert again["refreshToken"] == child["refreshToken"]
    assert _kid(again["accessToken"]) == ring.keys[0].kid  # the old key is gone: re-signed by the new one
    data(api.get("/auth/me", again["accessToken"]))
    started_later = make_api()
    assert data(started_later.refresh(login.refresh))["refreshToken"] == child["refreshToken"]
    data(started_later.refresh(child["refreshToken"]))  # no reuse was detected: the session lives on


def test_a_grace_retry_after_the_secret_file_was_replaced_is_refused_without_revoking(
    make_api: Callable[..., Api],
) -> None:
    one = make_api()
    login = one.login(EMAIL)
    child = data(one.refresh(login.refresh))
    path = secret_path(one.settings)
    path.unlink()
    assert main(["secrets", "init", "--file", str(path)]) == 0
    two = make_api()  # an instance started with the new secret
    assert_error(two.refresh(login.refresh), 401, "invalid_refresh_token")
    data(two.refresh(child["refreshToken"]))  # not treated as theft: the session lives on


def test_a_dev_secret_is_generated_beside_the_database_once_the_start_succeeds(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'service.db'}", mail_backend="memory")
    path = tmp_path / "data" / "service.secret"
    assert secret_path(settings) == path
    app = create_app(settings)
    assert not path.exists()  # nothing is written before the startup checks pass
    with TestClient(app):
        assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    secret = read_secret(path)
    with TestClient(create_app(settings)):
        assert read_secret(path) == secret  # kept across starts


def test_a_start_that_fails_leaves_no_secret_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    secret = tmp_path / "service.secret"
    settings = Settings(
        database_url=f"sqlite:///{blocker / 'service.db'}",
        jwt_private_key_file=tmp_path / "keys.pem",
        secret_file=secret,
        mail_backend="memory",
    )
    with pytest.raises(OSError), TestClient(create_app(settings)):
        pass
    assert not secret.exists()


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """No umask: the files' modes must come from the code, not from the process."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("umask_zero")
def test_every_key_and_secret_file_is_created_0600(tmp_path: Path) -> None:
    keys, secret = tmp_path / "cli" / "keys.pem", tmp_path / "cli" / "service.secret"
    assert main(["keys", "rotate", "--file", str(keys)]) == 0
    assert main(["secrets", "init", "--file", str(secret)]) == 0
    keys.chmod(0o644)  # a shared file rewritten by a rotation, an activation or a retirement
    for command in (["rotate", "--delay", "60"], ["activate"], ["retire"]):
        assert main(["keys", *command, "--file", str(keys)]) == 0
        assert keys.stat().st_mode & 0o777 == 0o600, command
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'dev' / 'authspec.db'}", mail_backend="memory")
    with TestClient(create_app(settings)):
        pass
    made = [secret, tmp_path / "dev" / "authspec.keys.pem", tmp_path / "dev" / "authspec.secret"]
    assert {p.name: p.stat().st_mode & 0o777 for p in made} == {p.name: 0o600 for p in made}
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".tmp", ".new"))]  # no temp file left


# -- prod ----------------------------------------------------------------------------------------------------


@pytest.fixture
def prod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A prod environment whose key file and secret file are fine: (key file, secret file)."""
    key, secret = tmp_path / "keys.pem", tmp_path / "service.secret"
    assert main(["keys", "rotate", "--file", str(key)]) == 0
    assert main(["secrets", "init", "--file", str(secret)]) == 0
    for name, value in {
        "ENV": "prod",
        "MAIL_BACKEND": "smtp",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "JWT_PRIVATE_KEY_FILE": str(key),
        "SECRET_FILE": str(secret),
    }.items():
        monkeypatch.setenv(f"AUTHSPEC_{name}", value)
    return key, secret


def _serve_refusal(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_prod_refuses_a_key_file_that_group_or_others_can_read(
    prod: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = prod
    key.chmod(0o644)
    expected = (
        f"AUTHSPEC_JWT_PRIVATE_KEY_FILE: {key} is accessible by group or others (mode 0644); "
        f"make it owner-only with `chmod 600 {key}` and start again"
    )
    assert _serve_refusal(capsys) == f"authspec serve: {expected}"
    with pytest.raises(KeyfileError) as refused:
        create_app(Settings())
    assert str(refused.value) == expected


def test_prod_refuses_a_secret_file_that_group_or_others_can_read(
    prod: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, secret = prod
    secret.chmod(0o640)
    expected = (
        f"AUTHSPEC_SECRET_FILE: {secret} is accessible by group or others (mode 0640); "
        f"make it owner-only with `chmod 600 {secret}` and start again"
    )
    assert _serve_refusal(capsys) == f"authspec serve: {expected}"
    with pytest.raises(SecretFileError) as refused:
        create_app(Settings())
    assert str(refused.value) == expected


def test_prod_requires_the_secret_file_setting_and_the_file(
    prod: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, secret = prod
    secret.unlink()
    assert _serve_refusal(capsys) == (
        f"authspec serve: AUTHSPEC_SECRET_FILE: {secret} does not exist. Create it once with "
        f"`authspec secrets init --file {secret}` (keep it secret, the same file on every instance) and start again."
    )
    secret.write_text("# a comment, and no secret\n")
    secret.chmod(0o600)
    assert "does not hold one base64url secret line" in _serve_refusal(capsys)
    monkeypatch.delenv("AUTHSPEC_SECRET_FILE")
    assert _serve_refusal(capsys).startswith(
        "authspec serve: AUTHSPEC_SECRET_FILE must name the service secret file when AUTHSPEC_ENV=prod; "
        "create it once with `authspec secrets init --file PATH`"
    )


# -- the commands ----------------------------------------------------------------------------------------------


def test_keys_list_shows_each_keys_schedule_and_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.pem"
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    assert main(["keys", "rotate", "--file", str(path), "--delay", "300"]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--file", str(path)]) == 0
    pending, signing = capsys.readouterr().out.splitlines()
    new, old = Keyring.load(path).keys
    assert pending.startswith(f"{new.kid}  created=") and pending.endswith("published, not yet signing")
    assert signing.startswith(f"{old.kid}  created=") and signing.endswith("signing")
    assert new.activates_at is not None and new.created_at is not None
    assert (new.activates_at - new.created_at).total_seconds() == 300
    assert main(["keys", "activate", "--file", str(path)]) == 0
    assert main(["keys", "list", "--file", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].endswith("  signing") and out[-1].endswith("verifying only")


def test_rotate_uses_the_publish_delay_setting_and_warns_below_the_safe_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "keys.pem"
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    new = Keyring.load(path).keys[0]
    assert new.activates_at is not None and new.created_at is not None
    assert (new.activates_at - new.created_at).total_seconds() == 310  # 10 s reload + 300 s max-age
    assert "signs from" in capsys.readouterr().out
    monkeypatch.setenv("AUTHSPEC_KEY_PUBLISH_DELAY", "20")
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    new = Keyring.load(path).keys[0]
    assert new.activates_at is not None and new.created_at is not None
    assert (new.activates_at - new.created_at).total_seconds() == 20
    assert "verifiers holding an older JWKS may refuse its first tokens" in capsys.readouterr().err


def test_retire_keeps_the_signing_and_the_pending_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "keys.pem"
    assert main(["keys", "rotate", "--file", str(path)]) == 0
    assert main(["keys", "rotate", "--file", str(path), "--delay", "600"]) == 0
    assert main(["keys", "retire", "--file", str(path)]) == 0
    assert len(Keyring.load(path).keys) == 2 and "retired 0 key(s)" in capsys.readouterr().out
    assert main(["keys", "activate", "--file", str(path)]) == 0
    assert main(["keys", "retire", "--file", str(path)]) == 0
    assert len(Keyring.load(path).keys) == 1
    # It signed until just now, so its tokens were still valid: the operator is told.
    assert "are refused from now on" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["keys", "activate"], "is already active (signing); nothing to activate"),
        (["keys", "activate", "--kid", "nope"], "no key with kid nope in the ring"),
        (["keys", "rotate", "--delay", "-1"], "--delay must be 0 or more seconds, not -1"),
        (["keys", "retire", "--keep", "0"], "--keep must be 1 or more, not 0"),
        (["secrets", "init"], "exists and is left alone (a new secret voids every code in flight)"),
    ],
)
def test_a_key_or_secret_command_that_cannot_act_says_why_in_one_line_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], message: str
) -> None:
    keys, secret = tmp_path / "keys.pem", tmp_path / "service.secret"
    assert main(["keys", "rotate", "--file", str(keys)]) == 0
    assert main(["secrets", "init", "--file", str(secret)]) == 0
    before = (keys.read_bytes(), secret.read_bytes())
    capsys.readouterr()
    assert main([*command, "--file", str(secret if command[0] == "secrets" else keys)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"authspec {' '.join(command[:2])}: ") and message in err, err
    assert (keys.read_bytes(), secret.read_bytes()) == before


def test_key_commands_on_a_missing_file_say_so_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for action in ("list", "activate", "retire"):
        assert main(["keys", action, "--file", str(tmp_path / "none.pem")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot read the signing key file" in err
