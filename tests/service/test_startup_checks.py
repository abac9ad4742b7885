"""The storage's start-up checks, through ``authspec serve`` and ``authspec migrate``: an unreachable or
missing database, a SQLite file that cannot be created, an unreachable Redis and a database at an
unknown migration revision each end the command with one line naming the setting (exit status 2, no
traceback, no password); and a first start creates the SQLite files owner-only."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from authspec.storage.preflight import mask_url
from tests.helpers import POSTGRES_URL, ServerProcess, authspec_cli, clean_env, free_port

PASSWORD = "s3cret-pw"
UNKNOWN_REVISION = "9f9f_from_a_newer_authspec"
TIMEOUT = 60

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL")


def command(kind: str) -> list[str]:
    if kind == "serve":
        return authspec_cli("serve", free_port())
    return [sys.executable, "-m", "authspec.cli", "migrate"]


def refused(kind: str, cwd: Path, **env: str) -> str:
    """Run ``authspec serve`` or ``migrate`` with ``env``; the one line it was refused with."""
    done = subprocess.run(command(kind), env=clean_env(**env), cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert PASSWORD not in done.stderr + done.stdout
    assert lines[0].startswith(f"authspec {kind}: "), lines
    return lines[0].removeprefix(f"authspec {kind}: ")


KINDS = pytest.mark.parametrize("kind", ["serve", "migrate"])


def test_a_password_is_masked_in_urls() -> None:
    assert mask_url("postgresql://ada:pw@db:5432/x") == "postgresql://ada:***@db:5432/x"
    assert mask_url("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert mask_url("postgresql://ada@db/x") == "postgresql://ada@db/x"
    assert mask_url("sqlite:///a.db") == "sqlite:///a.db"
    assert mask_url("postgresql://ada:p@ss@db/x") == "postgresql://ada:***@db/x"
    assert mask_url("postgresql://db/x?user=ada&password=pw&sslmode=require") == (
        "postgresql://db/x?user=ada&password=***&sslmode=require"
    )


@KINDS
def test_an_unreachable_database(kind: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://ada:{PASSWORD}@127.0.0.1:{port}/authspec"
    assert refused(kind, tmp_path, AUTHSPEC_DATABASE_URL=url) == (
        f"AUTHSPEC_DATABASE_URL: cannot reach the database at postgresql://ada:***@127.0.0.1:{port}/authspec "
        "(connection refused)"
    )


@needs_postgres
@KINDS
def test_a_database_that_does_not_exist(kind: str, tmp_path: Path) -> None:
    assert POSTGRES_URL
    name = f"authspec_missing_{uuid.uuid4().hex[:12]}"
    base = make_url(POSTGRES_URL)
    url = base.set(database=name, password=PASSWORD).render_as_string(hide_password=False)
    masked = base.set(database=name, password=PASSWORD).render_as_string(hide_password=True)
    assert refused(kind, tmp_path, AUTHSPEC_DATABASE_URL=url) == (
        f"AUTHSPEC_DATABASE_URL: the database '{name}' does not exist at {masked} (create it: createdb {name})"
    )


@KINDS
def test_a_sqlite_file_whose_folder_cannot_be_created(kind: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"  # a file where the folder would be: refused even as root
    blocker.write_text("")
    database = blocker / "data" / "authspec.db"
    assert refused(kind, tmp_path, AUTHSPEC_DATABASE_URL=f"sqlite:///{database}") == (
        f"AUTHSPEC_DATABASE_URL: cannot create the SQLite database {database} in {database.parent}, which cannot "
        "be made a folder (not a directory)"
    )


def test_an_unreachable_redis(tmp_path: Path) -> None:
    port = free_port()
    line = refused("serve", tmp_path, AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
                   AUTHSPEC_REDIS_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")  # fmt: skip
    assert line == f"AUTHSPEC_REDIS_URL: cannot reach Redis at redis://:***@127.0.0.1:{port}/0 (connection refused)"


def test_migrate_does_not_need_redis(tmp_path: Path) -> None:
    env = clean_env(AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}",
                    AUTHSPEC_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # fmt: skip
    done = subprocess.run(command("migrate"), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


# -- a database at a revision this code does not know -------------------------------------------------------


def known_revisions() -> str:
    from alembic.script import ScriptDirectory

    from authspec.storage.migrate import alembic_config

    return ", ".join(sorted(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()))


@pytest.fixture
def sqlite_at_unknown_revision(tmp_path: Path) -> str:
    path = tmp_path / "newer.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (UNKNOWN_REVISION,))
    conn.close()
    return f"sqlite:///{path}"


async def _postgres(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def postgres_schema_at_unknown_revision() -> Iterator[str]:
    assert POSTGRES_URL
    schema = f"authspec_rev_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres(
        POSTGRES_URL,
        f'CREATE SCHEMA "{schema}"',
        f'CREATE TABLE "{schema}".alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)',
        f"INSERT INTO \"{schema}\".alembic_version VALUES ('{UNKNOWN_REVISION}')",
    ))  # fmt: skip
    yield schema
    asyncio.run(_postgres(POSTGRES_URL, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@KINDS
def test_a_sqlite_database_at_an_unknown_revision(kind: str, tmp_path: Path, sqlite_at_unknown_revision: str) -> None:
    assert refused(kind, tmp_path, AUTHSPEC_DATABASE_URL=sqlite_at_unknown_revision) == (
        f"AUTHSPEC_DATABASE_URL: the database at {sqlite_at_unknown_revision} is at migration revision "
        f"{UNKNOWN_REVISION}, which this version of authspec does not know (migrated by a newer version?); "
        f"it knows {known_revisions()}"
    )


@needs_postgres
@KINDS
def test_a_postgres_database_at_an_unknown_revision(
    kind: str, tmp_path: Path, postgres_schema_at_unknown_revision: str
) -> None:
    assert POSTGRES_URL
    line = refused(kind, tmp_path, AUTHSPEC_DATABASE_URL=POSTGRES_URL,
                   AUTHSPEC_DATABASE_SCHEMA=postgres_schema_at_unknown_revision)  # fmt: skip
    assert line == (
        f"AUTHSPEC_DATABASE_URL: the database at {mask_url(POSTGRES_URL)} is at migration revision "
        f"{UNKNOWN_REVISION}, which this version of authspec does not know (migrated by a newer version?); "
        f"it knows {known_revisions()}"
    )


# -- SQLite files are owner-only -----------------------------------------------------------------------------


def test_a_first_start_creates_the_sqlite_files_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "data" / "authspec.db"
    env = clean_env(AUTHSPEC_DATABASE_URL=f"sqlite:///{database}", AUTHSPEC_MAIL_BACKEND="memory")
    log = tmp_path / "serve.log"
    with ServerProcess(partial(authspec_cli, "serve"), env=env, log=log, probe="/readyz", lifetime=90) as server:
        answered = httpx.post(f"{server.api}/auth/email/request-code", json={"email": "ada@example.com"}, timeout=30)
        assert answered.status_code == 200, answered.text
        files = {path.name: path.stat().st_mode & 0o777 for path in database.parent.iterdir()}
    assert {name: mode for name, mode in files.items() if name.startswith("authspec.db")} == {
        "authspec.db": 0o600,
        "authspec.db-wal": 0o600,
        "authspec.db-shm": 0o600,
    }
    assert "warning" not in log.read_text()  # on loopback, nothing to warn about


def test_serve_without_migrations_on_start_wants_a_migrated_database(tmp_path: Path) -> None:
    from authspec.storage.migrate import head_revision

    database = f"sqlite:///{tmp_path / 'a.db'}"
    line = refused("serve", tmp_path, AUTHSPEC_DATABASE_URL=database, AUTHSPEC_MIGRATE_ON_START="false")
    assert line == (
        f"AUTHSPEC_MIGRATE_ON_START=false and the database at {database} is not migrated (this version needs "
        f"{head_revision()}): run `authspec migrate` first"
    )


def test_a_migrated_database_passes_without_migrations_on_start(tmp_path: Path) -> None:
    from authspec.settings import Settings
    from authspec.storage.engine import Database
    from authspec.storage.migrate import upgrade
    from authspec.storage.preflight import storage_problem

    url = f"sqlite:///{tmp_path / 'a.db'}"
    settings = Settings(database_url=url, migrate_on_start=False)
    assert storage_problem(settings, serving=False) is None  # migrate itself needs nothing migrated
    assert storage_problem(settings) is not None
    db = Database(url)
    asyncio.run(upgrade(db))
    asyncio.run(db.dispose())
    assert storage_problem(settings) is None


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (a blackholed server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("setting", ["AUTHSPEC_DATABASE_URL", "AUTHSPEC_REDIS_URL"])
def test_a_server_that_never_answers_is_one_line_once_the_check_gives_up(
    setting: str, silent_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from authspec.settings import Settings
    from authspec.storage import preflight

    monkeypatch.setattr(preflight, "PREFLIGHT_SECONDS", 1.0)
    if setting == "AUTHSPEC_DATABASE_URL":
        settings = Settings(database_url=f"postgresql://ada:{PASSWORD}@127.0.0.1:{silent_port}/authspec")
        expected = f"cannot reach the database at postgresql://ada:***@127.0.0.1:{silent_port}/authspec"
    else:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'a.db'}", redis_url=f"redis://127.0.0.1:{silent_port}/0"
        )
        expected = f"cannot reach Redis at redis://127.0.0.1:{silent_port}/0"
    assert preflight.storage_problem(settings) == f"{setting}: {expected} (no answer within 1 s)"
