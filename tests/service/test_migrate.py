"""``authspec migrate``: several at once on a fresh PostgreSQL schema or database all succeed, and
``--revision`` moves the database up or down to any shipped revision (``base``, an id, ``head``),
says so when it is there already, and refuses an unknown one in one line (exit 2). The tests walk
the shipped history, whatever its head is, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from authspec.cli import main
from authspec.storage.engine import Database
from authspec.storage.migrate import current_revision, head_revision, lineage
from authspec.storage.tables import metadata
from tests.helpers import POSTGRES_URL, clean_env
from tests.service.conftest import Target, _drop_schema

needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL")
TRIES = 5
AT_ONCE = 3


def migrate_env(url: str, schema: str | None = None) -> dict[str, str]:
    env = clean_env(AUTHSPEC_DATABASE_URL=url)
    if schema:
        env["AUTHSPEC_DATABASE_SCHEMA"] = schema
    return env


def migrate_at_once(env: dict[str, str], count: int) -> list[subprocess.CompletedProcess[str]]:
    """``count`` ``authspec migrate`` processes started together; their outcomes."""
    command = [sys.executable, "-m", "authspec.cli", "migrate"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    done = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def revision_of(url: str, schema: str | None = None) -> str | None:
    async def read() -> str | None:
        db = Database(url, schema=schema)
        try:
            return await current_revision(db)
        finally:
            await db.dispose()

    return asyncio.run(read())


def app_tables(url: str, schema: str | None = None) -> set[str]:
    """The authspec tables present in the database (the search path's first schema)."""

    async def read() -> set[str]:
        db = Database(url, schema=schema)
        try:
            async with db.read() as conn:
                names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        finally:
            await db.dispose()
        return names & set(metadata.tables)

    return asyncio.run(read())


# -- several at once ------------------------------------------------------------------------------------


@needs_postgres
@pytest.mark.postgres
@pytest.mark.slow
def test_three_migrations_at_once_on_a_fresh_schema_all_succeed_five_times() -> None:
    assert POSTGRES_URL
    for _ in range(TRIES):
        schema = f"authspec_m_{uuid.uuid4().hex[:16]}"
        try:
            done = migrate_at_once(migrate_env(POSTGRES_URL, schema), AT_ONCE)
            assert [d.returncode for d in done] == [0] * AT_ONCE, [d.stderr for d in done]
            assert revision_of(POSTGRES_URL, schema) == head_revision()
        finally:
            asyncio.run(_drop_schema(POSTGRES_URL, schema))


@pytest.fixture
def make_database() -> Iterator[Callable[[], str]]:
    """``make_database()``: the URL of a new PostgreSQL database of the test's own (created and
    dropped afterwards on a maintenance connection)."""
    import asyncpg

    assert POSTGRES_URL
    maintenance = make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    made: list[str] = []

    async def run(statement: str) -> None:
        conn = await asyncpg.connect(maintenance)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def make() -> str:
        name = f"authspec_m_{uuid.uuid4().hex[:16]}"
        asyncio.run(run(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        for name in made:
            asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@needs_postgres
@pytest.mark.postgres
@pytest.mark.slow
def test_three_migrations_at_once_without_a_schema_on_a_fresh_database_all_succeed_five_times(
    make_database: Callable[[], str],
) -> None:
    for _ in range(TRIES):
        url = make_database()
        done = migrate_at_once(migrate_env(url), AT_ONCE)
        assert [d.returncode for d in done] == [0] * AT_ONCE, [d.stderr for d in done]
        assert revision_of(url) == head_revision()


def main_in(url: str, *args: str, schema: str | None = None) -> int:
    """``authspec migrate ARGS`` in this process against ``url`` (restoring the environment)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHSPEC_DATABASE_URL", url)
        if schema:
            patch.setenv("AUTHSPEC_DATABASE_SCHEMA", schema)
        else:
            patch.delenv("AUTHSPEC_DATABASE_SCHEMA", raising=False)
        return main(["migrate", *args])


# -- --revision ----------------------------------------------------------------------------------------


def test_migrate_revision_walks_up_one_revision_at_a_time(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    previous: str | None = None
    for revision in lineage():
        assert main_in(target.url, "--revision", revision, schema=target.schema) == 0
        said = capsys.readouterr().out.strip()
        assert said == f"authspec migrate: upgraded the database from {previous or 'empty'} to {revision}"
        assert revision_of(target.url, target.schema) == revision
        previous = revision
    assert app_tables(target.url, target.schema) == set(metadata.tables)


def test_migrate_revision_below_the_current_one_downgrades(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_in(target.url, schema=target.schema) == 0
    capsys.readouterr()
    history = lineage()
    for below, current in reversed(list(zip([None, *history[:-1]], history, strict=True))):
        assert main_in(target.url, "--revision", below or "base", schema=target.schema) == 0
        said = capsys.readouterr().out.strip()
        assert said == f"authspec migrate: downgraded the database from {current} to {below or 'base'}"
        assert revision_of(target.url, target.schema) == below
    assert app_tables(target.url, target.schema) == set()
    # And back up in one step: the downgrades left nothing in the way.
    assert main_in(target.url, "--revision", "head", schema=target.schema) == 0
    assert capsys.readouterr().out.strip() == f"authspec migrate: upgraded the database from empty to {history[-1]}"


def test_migrate_revision_equal_to_the_current_one_says_already_at_it(
    target: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert main_in(target.url, schema=target.schema) == 0
    capsys.readouterr()
    for name in ("head", str(head)):
        assert main_in(target.url, "--revision", name, schema=target.schema) == 0
        said = capsys.readouterr().out.strip()
        assert said == f"authspec migrate: the database is already at revision {head}; nothing to do"
    assert main_in(target.url, "--revision", "base", schema=target.schema) == 0
    capsys.readouterr()
    assert main_in(target.url, "--revision", "base", schema=target.schema) == 0
    assert (
        capsys.readouterr().out.strip() == "authspec migrate: the database is already at revision base; nothing to do"
    )


def test_migrate_to_an_unknown_revision_is_one_line_and_exit_2(target: Target) -> None:
    env = migrate_env(target.url, target.schema)
    done = subprocess.run(
        [sys.executable, "-m", "authspec.cli", "migrate", "--revision", "9999"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines() == [
        f"authspec migrate: unknown revision '9999'; known: base, {', '.join(lineage())}, head"
    ]
    assert done.stdout == ""
    assert revision_of(target.url, target.schema) is None  # nothing was touched
