"""The real service's administrative commands, behind ``authspec migrate``, ``keys`` and ``purge``.

Kept here, next to what they manage, so the CLI module stays a thin argument parser. Every
function returns a process exit code and prints a one-line result (or the reason it failed).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from authspec.clock import SystemClock
from authspec.errors import ServiceUnavailable
from authspec.keys import KeyringError
from authspec.settings import Settings
from authspec.storage.engine import Database, DatabaseUrlError
from authspec.storage.keyfile import KeyfileError, key_path, load_keyring, retire, rotate
from authspec.storage.migrate import current_revision, head_revision, upgrade
from authspec.storage.purge import RETENTION_SECONDS, PurgeReport, purge


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")


def _fail(command: str, message: str) -> int:
    sys.stderr.write(f"authspec {command}: {message}\n")
    return 1


def migrate(settings: Settings, target: str = "head") -> int:
    """Apply the migrations up to ``target``."""

    async def run() -> tuple[str | None, str | None]:
        db = Database(settings.database_url, schema=settings.database_schema)
        try:
            before = await current_revision(db)
            return before, await upgrade(db, target)
        finally:
            await db.dispose()

    try:
        before, after = asyncio.run(run())
    except DatabaseUrlError as exc:
        return _fail("migrate", str(exc))
    except (ServiceUnavailable, OSError) as exc:
        return _fail("migrate", f"cannot reach the database ({type(exc.__cause__ or exc).__name__})")
    if before == after:
        _say(f"authspec migrate: the database is at revision {after}; nothing to do")
    else:
        _say(f"authspec migrate: upgraded the database from {before or 'empty'} to {after}")
    return 0


def keys_rotate(settings: Settings, path: Path | None) -> int:
    """Put a new signing key in front of the ring; the old ones keep verifying."""
    target = path or key_path(settings)
    try:
        ring = rotate(target)
    except KeyringError as exc:
        return _fail("keys rotate", str(exc))
    _say(f"authspec keys rotate: {target} now signs with {ring.active.kid} ({len(ring.keys)} key(s) verify)")
    return 0


def keys_retire(settings: Settings, path: Path | None, keep: int) -> int:
    """Drop all but the ``keep`` newest keys: tokens they signed stop verifying."""
    target = path or key_path(settings)
    try:
        ring, dropped = retire(target, keep)
    except KeyringError as exc:
        return _fail("keys retire", str(exc))
    _say(f"authspec keys retire: retired {dropped} key(s); {target} keeps {', '.join(k.kid for k in ring.keys)}")
    return 0


def serve_preflight(settings: Settings) -> str | None:
    """Why the service cannot start with these settings (None when it can): caught before uvicorn
    starts, so the operator reads one clear line instead of a traceback."""
    try:
        Database(settings.database_url, schema=settings.database_schema)
        if settings.env == "prod":
            load_keyring(settings)
    except (DatabaseUrlError, KeyfileError) as exc:
        return str(exc)
    return None


def purge_once(settings: Settings) -> int:
    """Run the purge of expired rows once (``authspec.storage.purge``), as the service does hourly."""

    async def run() -> PurgeReport | str:
        db = Database(settings.database_url, schema=settings.database_schema)
        try:
            at, head = await current_revision(db), head_revision()
            if at != head:
                return f"the database is at revision {at or 'empty'}, not {head}; run `authspec migrate` first"
            before = SystemClock().now() - timedelta(seconds=RETENTION_SECONDS)
            return await purge(db, before, batch_size=settings.purge_batch_size)
        finally:
            await db.dispose()

    def refuse(problem: str) -> int:  # a database that cannot be used is the operator's to fix
        _fail("purge", problem)
        return 2

    try:
        report = asyncio.run(run())
    except DatabaseUrlError as exc:
        return refuse(str(exc))
    except (ServiceUnavailable, OSError, OperationalError, InterfaceError) as exc:
        return refuse(f"cannot reach the database ({type(exc.__cause__ or exc).__name__})")
    if isinstance(report, str):
        return refuse(report)
    if report.skipped:
        _say("authspec purge: skipped; another instance is purging this database (its advisory lock is held)")
    else:
        _say(f"authspec purge: deleted {report.rows} expired row(s) in {report.batches} batch(es)")
    return 0
