"""Alembic, driven from code: ``upgrade`` runs on start (``AUTHSPEC_MIGRATE_ON_START``) and by ``authspec migrate``.

The scripts live in ``authspec/storage/migrations`` and ship with the package, so no
``alembic.ini`` is needed. The upgrade runs on the service's own async engine inside one write
transaction; on PostgreSQL a transaction-scoped advisory lock makes instances that start together
take turns, and on SQLite ``BEGIN IMMEDIATE`` does the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from authspec.storage.engine import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 0x61757468  # "auth"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, target: str) -> None:
    command.upgrade(alembic_config(connection), target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(db: Database, target: str = "head") -> str | None:
    """Bring the database to ``target``; returns the revision it is at afterwards."""
    async with db.write() as conn:
        if not db.is_sqlite:
            if db.schema:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{db.schema}"'))
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        await conn.run_sync(_upgrade, target)
        revision: Any = await conn.run_sync(_current)
    return None if revision is None else str(revision)


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        revision: Any = await conn.run_sync(_current)
    return None if revision is None else str(revision)
