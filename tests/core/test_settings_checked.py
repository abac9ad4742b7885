"""Settings fail loudly, through the command line: an unknown ``AUTHSPEC_*`` name stops a prod start
and warns in dev, every invalid value is one line naming its variable (exit status 2, no traceback),
prod needs an explicit database and refuses ``*`` origins, and a development server bound beyond
loopback says once that login codes are readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import SettingsError

from authspec import settings as settings_module
from authspec import startup
from authspec.keys import Keyring
from authspec.settings import Settings
from authspec.startup import describe_settings_error, exposure_warning, is_loopback
from authspec.storage.secretfile import init_secret_file
from tests.helpers import authspec_cli, clean_env, free_port

TIMEOUT = 60


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``args`` (an authspec command line) in ``cwd`` with only ``env`` as AUTHSPEC_* settings."""
    return subprocess.run(args, env=clean_env(**env), cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)  # fmt: skip


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "authspec.cli", *args]


def refused(done: subprocess.CompletedProcess[str], command: str) -> str:
    """The one line a refused start printed (exit status 2, nothing else on stderr, no traceback)."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"authspec {command}: "), lines
    return lines[0].removeprefix(f"authspec {command}: ")


@pytest.fixture
def prod(tmp_path: Path) -> dict[str, str]:
    """The settings of a production start that passes every check of the settings themselves."""
    key = tmp_path / "keys.pem"
    Keyring.generate().save(key)
    secret = tmp_path / "secret"
    init_secret_file(secret)
    return {
        "AUTHSPEC_ENV": "prod",
        "AUTHSPEC_MAIL_BACKEND": "smtp",
        "AUTHSPEC_JWT_PRIVATE_KEY_FILE": str(key),
        "AUTHSPEC_SECRET_FILE": str(secret),
        "AUTHSPEC_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
    }


# -- unknown names -------------------------------------------------------------------------------------------

UNKNOWN = "AUTHSPEC_DATABSE_URL is not a setting authspec reads (did you mean AUTHSPEC_DATABASE_URL?)"


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("serve", ["serve", "--host", "127.0.0.1", "--port", "0"]),
        ("migrate", ["migrate"]),
        ("keys rotate", ["keys", "rotate", "--file", "keys.pem"]),
        ("mock", ["mock", "--host", "127.0.0.1", "--port", "0"]),
    ],
)
def test_an_unknown_name_stops_a_prod_start_naming_the_closest_setting(
    command: str, args: list[str], tmp_path: Path, prod: dict[str, str]
) -> None:
    del prod["AUTHSPEC_DATABASE_URL"]
    done = run(cli(*args), tmp_path, **prod, AUTHSPEC_DATABSE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert refused(done, command) == f"{UNKNOWN}; refused when AUTHSPEC_ENV=prod"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.pem", "secret"]  # nothing was created


def test_an_unknown_name_is_a_warning_in_dev_and_the_command_goes_on(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'dev.db'}"
    done = run(cli("migrate"), tmp_path, AUTHSPEC_DATABASE_URL=database, AUTHSPEC_DATABSE_URL=database)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"authspec migrate: warning: {UNKNOWN}; ignored (and refused when AUTHSPEC_ENV=prod)"
    ]
    assert "upgraded the database from empty" in done.stdout


def test_unknown_names_and_invalid_values_are_one_line_each_in_dev(tmp_path: Path) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, AUTHSPEC_ACESS_TTL="60", AUTHSPEC_ACCESS_TTL="soon")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "authspec serve: warning: AUTHSPEC_ACESS_TTL is not a setting authspec reads (did you mean "
        "AUTHSPEC_ACCESS_TTL?); ignored (and refused when AUTHSPEC_ENV=prod)",
        "authspec serve: AUTHSPEC_ACCESS_TTL: Input should be a valid integer, unable to parse string as an integer",
    ]


# -- invalid values ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "value", "line"),
    [
        ("int", "AUTHSPEC_ACCESS_TTL", "abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("int range", "AUTHSPEC_CODE_TTL", "601", "Input should be less than or equal to 600"),
        ("bool", "AUTHSPEC_MIGRATE_ON_START", "maybe", "Input should be a valid boolean, unable to interpret input"),
        ("Literal", "AUTHSPEC_ENV", "staging", "Input should be 'dev' or 'prod'"),
        ("Literal", "AUTHSPEC_MAIL_BACKEND", "sendgrid", "Input should be 'console', 'smtp' or 'memory'"),
        ("Path", "AUTHSPEC_JWT_PRIVATE_KEY_FILE", "", "is empty; name a file, or unset it"),
        ("list", "AUTHSPEC_CORS_ORIGINS", "http://a.test,http://b.test/app",
         "'http://b.test/app' must be an origin (scheme://host[:port]) without a path, query or fragment"),
        ("pattern str", "AUTHSPEC_DATABASE_SCHEMA", "1st",
         "String should match pattern '^[A-Za-z_][A-Za-z0-9_]{0,62}$'"),
        ("pattern str", "AUTHSPEC_MOCK_DEV_CODE", "12345", "String should match pattern '^[0-9]{6}$'"),
        ("Redis URL", "AUTHSPEC_REDIS_URL", "notaurl",
         "is not a Redis URL (no scheme); use redis://host:port/db, rediss://... or unix:///path"),
        ("Redis URL", "AUTHSPEC_REDIS_URL", "redis://:pw@localhost:sixty/0",
         "is not a usable Redis URL: Port could not be cast to integer value as 'sixty'"),
    ],
)  # fmt: skip
def test_an_invalid_value_is_one_line_naming_its_variable(
    kind: str, name: str, value: str, line: str, tmp_path: Path
) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, **{name: value})
    said = refused(done, "serve")
    assert said in (f"{name}: {line}", f"{name} {line}"), said
    assert list(tmp_path.iterdir()) == []  # refused before anything was created


def test_a_path_setting_naming_a_directory_is_refused(tmp_path: Path) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, AUTHSPEC_JWT_PRIVATE_KEY_FILE=str(tmp_path))
    assert refused(done, "serve") == f"AUTHSPEC_JWT_PRIVATE_KEY_FILE names a directory ({tmp_path}); name a file"


def test_a_secret_with_a_control_character_is_refused_without_showing_it(tmp_path: Path) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, AUTHSPEC_SMTP_PASSWORD="hunter2-from-windows\r")
    assert refused(done, "serve") == (
        "AUTHSPEC_SMTP_PASSWORD contains a control character (a carriage return from an env file with Windows "
        "line endings?); the value is not shown"
    )
    assert "hunter2" not in done.stderr + done.stdout


def test_a_malformed_redis_url_stops_migrate_too(tmp_path: Path) -> None:
    done = run(cli("migrate"), tmp_path, AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
               AUTHSPEC_REDIS_URL="notaurl")  # fmt: skip
    assert refused(done, "migrate").startswith("AUTHSPEC_REDIS_URL is not a Redis URL (no scheme)")


def test_two_invalid_values_are_two_lines(tmp_path: Path) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, AUTHSPEC_ACCESS_TTL="0", AUTHSPEC_SMTP_PORT="smtp")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "authspec serve: AUTHSPEC_SMTP_PORT: Input should be a valid integer, unable to parse string as an integer",
        "authspec serve: AUTHSPEC_ACCESS_TTL: Input should be greater than or equal to 1",
    ]


def test_a_value_pydantic_settings_cannot_decode_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class WithList(Settings):
        ports: list[int] = Field(default_factory=list)  # a JSON-typed field (no NoDecode)

    monkeypatch.setattr(settings_module, "Settings", WithList)
    monkeypatch.setattr(startup, "Settings", WithList)
    monkeypatch.setenv("AUTHSPEC_PORTS", "80,443")
    with pytest.raises(SettingsError) as raised:
        WithList()
    assert describe_settings_error(raised.value) == (
        "AUTHSPEC_PORTS cannot be read: Extra data: line 1 column 3 (char 2)"
    )
    assert startup.read_settings() == (None, ["AUTHSPEC_PORTS cannot be read: Extra data: line 1 column 3 (char 2)"])


# -- production ----------------------------------------------------------------------------------------------


def test_prod_requires_an_explicit_database_url(tmp_path: Path, prod: dict[str, str]) -> None:
    del prod["AUTHSPEC_DATABASE_URL"]
    done = run(authspec_cli("serve", free_port()), tmp_path, **prod)
    assert refused(done, "serve") == (
        "AUTHSPEC_DATABASE_URL must be set when AUTHSPEC_ENV=prod; the default, a SQLite file relative to the "
        "working directory (sqlite:///authspec.db), is for development"
    )
    assert not (tmp_path / "authspec.db").exists()


def test_prod_takes_the_default_url_when_it_is_written_out(tmp_path: Path, prod: dict[str, str]) -> None:
    done = run(cli("migrate"), tmp_path, **{**prod, "AUTHSPEC_DATABASE_URL": "sqlite:///authspec.db"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "authspec.db").exists()


def test_prod_refuses_any_origin_through_the_command_line(tmp_path: Path, prod: dict[str, str]) -> None:
    done = run(authspec_cli("serve", free_port()), tmp_path, **prod, AUTHSPEC_CORS_ORIGINS="*")
    assert refused(done, "serve") == (
        "AUTHSPEC_CORS_ORIGINS: '*' is refused when AUTHSPEC_ENV=prod (cross-origin calls carry credentials); "
        "list the frontends' origins"
    )


# -- a development server beyond loopback --------------------------------------------------------------------

#: TEST-NET-1 (RFC 5737): never assigned to this machine, so the server warns and then cannot bind —
#: the warning is proven without listening on a reachable address.
UNREACHABLE_LAN = "192.0.2.1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "fe80::1", "myhost.lan"])
def test_hosts_reachable_from_other_machines(host: str) -> None:
    assert not is_loopback(host)
    assert exposure_warning("serve", host, Settings(mail_backend="console")) is not None
    assert exposure_warning("mock", host, Settings()) is not None


def test_no_warning_without_console_codes_or_on_loopback() -> None:
    assert exposure_warning("serve", "0.0.0.0", Settings(mail_backend="memory")) is None
    assert exposure_warning("serve", "0.0.0.0", Settings(mail_backend="smtp")) is None
    assert exposure_warning("serve", "127.0.0.1", Settings(mail_backend="console")) is None
    assert exposure_warning("mock", "::1", Settings()) is None


def warnings_of(done: subprocess.CompletedProcess[str], command: str) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith(f"authspec {command}: warning:")]


def test_serve_in_dev_beyond_loopback_warns_once_that_codes_go_to_the_console(tmp_path: Path) -> None:
    args = cli("serve", "--host", UNREACHABLE_LAN, "--port", str(free_port()), "--log-level", "warning")
    done = run(args, tmp_path, AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode != 0  # the address is not this machine's: nothing listened
    assert warnings_of(done, "serve") == [
        f"authspec serve: warning: --host {UNREACHABLE_LAN} is reachable from other machines, and "
        "AUTHSPEC_MAIL_BACKEND=console prints every login code on this console: anyone who can ask for a code and "
        "read this output can sign in as any user; bind 127.0.0.1, or use AUTHSPEC_MAIL_BACKEND=smtp"
    ]


def test_the_mock_beyond_loopback_warns_once_that_its_outbox_is_open(tmp_path: Path) -> None:
    args = cli("mock", "--host", UNREACHABLE_LAN, "--port", str(free_port()), "--log-level", "warning")
    done = run(args, tmp_path)
    assert done.returncode != 0
    assert warnings_of(done, "mock") == [
        f"authspec mock: warning: --host {UNREACHABLE_LAN} is reachable from other machines, and the mock gives "
        "every login code to anyone who asks GET /__mock/outbox: anyone who can reach it can sign in as any user; "
        "bind 127.0.0.1 unless that is what you want"
    ]
