"""Alembic, driven from code: ``upgrade`` runs on start, ``migrate_to`` behind ``authspec migrate``.

The scripts live in ``authspec/storage/migrations`` and ship with the package, so no
``alembic.ini`` is needed. A migration runs on the given async engine inside one write
transaction. On PostgreSQL its first statement takes a transaction-scoped advisory lock (keyed by
the schema), so instances and ``authspec migrate`` processes started together take turns: only
then is ``AUTHSPEC_DATABASE_SCHEMA`` created (two concurrent ``CREATE SCHEMA IF NOT EXISTS`` can
collide) and the revision read. On SQLite ``BEGIN IMMEDIATE`` does the same. ``migrate_to`` goes
up or down to a named revision (``head``, ``base`` or an id); a revision this version does not
know, named or found in the database, raises ``UnknownRevision`` with a one-line message.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection

from authspec.storage.engine import Database
from authspec.storage.sqlite import Conn

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x61757468  # "auth"; the second key of the lock is the schema's


class UnknownRevision(CommandError):
    """A revision that is not one of the shipped migrations; the message is one line."""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def lineage() -> list[str]:
    """Every shipped revision, oldest first (the history is linear)."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def resolve_revision(target: str) -> str | None:
    """The revision id ``target`` names (``head``, ``base`` → None, or an id), or ``UnknownRevision``."""
    revisions = lineage()
    if target == "base":
        return None
    if target == "head":
        return revisions[-1] if revisions else None
    if target not in revisions:
        raise UnknownRevision(f"unknown revision {target!r}; known: base, {', '.join(revisions)}, head")
    return target


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _move(connection: Connection, before: str | None, after: str | None) -> None:
    revisions = lineage()
    position: dict[str | None, int] = {None: -1, **{rev: n for n, rev in enumerate(revisions)}}
    if position[after] > position[before]:
        command.upgrade(alembic_config(connection), after or "base")
    elif position[after] < position[before]:
        command.downgrade(alembic_config(connection), after or "base")


def _lock_key(schema: str | None) -> int:
    key = zlib.crc32((schema or "").encode())
    return key - 2**32 if key >= 2**31 else key  # an int4, as pg_advisory_xact_lock(int, int) takes


async def _take_turn(conn: Conn, db: Database) -> None:
    """PostgreSQL: wait for any other migration of this schema, then make sure the schema exists."""
    if db.is_sqlite:
        return  # BEGIN IMMEDIATE already holds the write lock
    # The lock needs no schema: a search_path naming one that does not exist yet is valid.
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(:id, :schema)"), {"id": _LOCK_ID, "schema": _lock_key(db.schema)}
    )
    if db.schema:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))


async def migrate_to(db: Database, target: str = "head") -> tuple[str | None, str | None]:
    """Bring the database up or down to ``target``; returns its revision before and after."""
    wanted = resolve_revision(target)
    async with db.write() as conn:
        await _take_turn(conn, db)
        found: Any = await conn.run_sync(_current)
        before = None if found is None else str(found)
        if before is not None and before not in lineage():
            raise UnknownRevision(
                f"the database is at revision {before!r}, which this version of authspec does not know "
                "(a newer version migrated it?)"
            )
        await conn.run_sync(_move, before, wanted)
        revision: Any = await conn.run_sync(_current)
    return before, None if revision is None else str(revision)


async def upgrade(db: Database, target: str = "head") -> str | None:
    """Bring the database to ``target`` (head by default); returns the revision it is at afterwards."""
    return (await migrate_to(db, target))[1]


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        revision: Any = await conn.run_sync(_current)
    return None if revision is None else str(revision)
