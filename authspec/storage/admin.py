"""The real service's administrative commands, behind ``authspec migrate``, ``keys``, ``secrets`` and ``purge``.

Kept here, next to what they manage, so the CLI module stays a thin argument parser. Every
function returns a process exit code and prints a one-line result (or the reason it failed).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from authspec.clock import Clock, SystemClock
from authspec.errors import ServiceUnavailable
from authspec.keys import Keyring, KeyringError, SigningKey, format_instant
from authspec.settings import Settings
from authspec.storage.engine import Database, DatabaseUrlError
from authspec.storage.keyfile import KeyfileError, activate, key_path, load_keyring, retire, rotate
from authspec.storage.migrate import UnknownRevision, current_revision, head_revision, lineage, migrate_to
from authspec.storage.preflight import storage_problem
from authspec.storage.purge import RETENTION_SECONDS, PurgeReport, purge
from authspec.storage.secretfile import SecretFileError, init_secret_file, load_secret


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")


def _warn(message: str) -> None:
    sys.stderr.write(message + "\n")


def _fail(command: str, message: str, status: int = 1) -> int:
    """A command that cannot do what was asked: one line on stderr; returns the exit ``status``
    (2 for what the operator must fix first: a key, a secret, a revision, an unusable database)."""
    sys.stderr.write(f"authspec {command}: {message}\n")
    return status


def migrate(settings: Settings, target: str = "head") -> int:
    """Move the migrations up or down to ``target`` (``head``, ``base`` or a revision id)."""

    async def run() -> tuple[str | None, str | None]:
        db = Database.from_settings(settings).for_migrations()
        try:
            return await migrate_to(db, target)
        finally:
            await db.dispose()

    try:
        before, after = asyncio.run(run())
    except DatabaseUrlError as exc:
        return _fail("migrate", str(exc))
    except UnknownRevision as exc:
        return _fail("migrate", str(exc), status=2)
    except (ServiceUnavailable, OSError) as exc:
        return _fail("migrate", f"cannot reach the database ({type(exc.__cause__ or exc).__name__})")
    if before == after:
        _say(f"authspec migrate: the database is already at revision {after or 'base'}; nothing to do")
    elif after is not None and (before is None or lineage().index(after) > lineage().index(before)):
        _say(f"authspec migrate: upgraded the database from {before or 'empty'} to {after}")
    else:
        _say(f"authspec migrate: downgraded the database from {before} to {after or 'base'}")
    return 0


def migrates_before_serving(settings: Settings) -> bool:
    """Whether ``authspec serve`` migrates once before its workers start: when migrations on start
    are on, and the database outlives the process (not an in-memory SQLite, which each worker has
    for itself and migrates itself)."""
    url = make_url(settings.database_url)
    in_memory = url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:")
    return settings.migrate_on_start and not in_memory


def migrate_before_serving(settings: Settings) -> str | None:
    """Bring the database to head once, before ``authspec serve`` starts its workers (None when done);
    else the one-line reason. Silent: the service's own logs say that it started."""

    async def run() -> None:
        db = Database.from_settings(settings).for_migrations()
        try:
            await migrate_to(db, "head")
        finally:
            await db.dispose()

    try:
        asyncio.run(run())
    except (DatabaseUrlError, UnknownRevision) as exc:
        return str(exc)
    except (ServiceUnavailable, OSError) as exc:
        return f"cannot reach the database ({type(exc.__cause__ or exc).__name__})"
    return None


def _key_line(ring: Keyring, key: SigningKey, now: datetime) -> str:
    created = "-" if key.created_at is None else format_instant(key.created_at)
    activates = "-" if key.activates_at is None else format_instant(key.activates_at)
    return f"{key.kid}  created={created}  activates-at={activates}  {ring.state(key, now).value}"


def keys_rotate(settings: Settings, path: Path | None, delay: int | None = None, clock: Clock | None = None) -> int:
    """Publish a new key at once; it signs after ``delay`` seconds (default: the publish delay)."""
    target = path or key_path(settings)
    wait = settings.publish_delay if delay is None else delay
    if wait < 0:
        return _fail("keys rotate", f"--delay must be 0 or more seconds, not {wait}", status=2)
    now = (clock or SystemClock()).now()
    try:
        ring = rotate(target, now=now, delay=wait)
    except KeyringError as exc:
        return _fail("keys rotate", str(exc), status=2)
    new = ring.keys[0]
    if len(ring.keys) == 1:
        _say(f"authspec keys rotate: created {target}; {new.kid} signs")
        return 0
    starts = format_instant(now + timedelta(seconds=wait))
    _say(
        f"authspec keys rotate: {new.kid} is published now and signs from {starts} ({wait} s); "
        f"until then {ring.signing_key(now).kid} signs ({len(ring.keys)} key(s) verify)"
    )
    if wait < settings.safe_publish_delay:
        _warn(
            f"authspec keys rotate: {wait} s is less than the reload interval plus the JWKS cache lifetime "
            f"({settings.safe_publish_delay} s): verifiers holding an older JWKS may refuse its first tokens"
        )
    return 0


def keys_activate(settings: Settings, path: Path | None, kid: str | None, clock: Clock | None = None) -> int:
    """Make the newest pending key (or ``kid``) sign now, for operators who know their caches."""
    target = path or key_path(settings)
    now = (clock or SystemClock()).now()
    try:
        ring = activate(target, now=now, kid=kid)
    except KeyringError as exc:
        return _fail("keys activate", str(exc), status=2)
    signing = ring.signing_key(now)
    _say(
        f"authspec keys activate: {signing.kid} signs from now ({format_instant(now)}); running instances "
        f"switch within {settings.key_reload_interval:g} s (AUTHSPEC_KEY_RELOAD_INTERVAL)"
    )
    published = None if signing.created_at is None else (now - signing.created_at).total_seconds()
    if published is not None and published < settings.safe_publish_delay:
        _warn(
            f"authspec keys activate: {signing.kid} was published {published:.0f} s ago, less than the reload "
            f"interval plus the JWKS cache lifetime ({settings.safe_publish_delay} s): instances or verifiers "
            "that have not fetched it yet refuse its tokens until they do"
        )
    return 0


def keys_list(settings: Settings, path: Path | None, clock: Clock | None = None) -> int:
    """Print each key, newest first: kid, created, activates-at and what it does now."""
    target = path or key_path(settings)
    now = (clock or SystemClock()).now()
    try:
        ring = Keyring.load(target)
    except KeyringError as exc:
        return _fail("keys list", str(exc), status=2)
    for key in ring.keys:
        _say(_key_line(ring, key, now))
    return 0


def keys_retire(settings: Settings, path: Path | None, keep: int, clock: Clock | None = None) -> int:
    """Drop all but the ``keep`` newest keys, never the signing or a pending one: tokens the dropped
    keys signed stop verifying."""
    target = path or key_path(settings)
    if keep < 1:
        return _fail("keys retire", f"--keep must be 1 or more, not {keep}", status=2)
    now = (clock or SystemClock()).now()
    try:
        before = Keyring.load(target)
        ring, dropped = retire(target, keep, now=now)
    except KeyringError as exc:
        return _fail("keys retire", str(exc), status=2)
    _say(f"authspec keys retire: retired {dropped} key(s); {target} keeps {', '.join(k.kid for k in ring.keys)}")
    for newer, gone in zip(before.keys, before.keys[1:], strict=False):
        if ring.find(gone.kid) is None and newer.activates_at is not None:
            live_until = newer.activates_at + timedelta(seconds=settings.access_ttl)
            if live_until > now:
                _warn(
                    f"authspec keys retire: {gone.kid} signed until {format_instant(newer.activates_at)}; its tokens "
                    f"(valid until {format_instant(live_until)}) are refused from now on"
                )
    return 0


def secrets_init(path: Path) -> int:
    """Create a service secret file (0600) at ``path``; never overwrites one."""
    try:
        init_secret_file(path)
    except SecretFileError as exc:
        return _fail("secrets init", str(exc), status=2)
    _say(f"authspec secrets init: wrote {path} (0600); give every instance this file as AUTHSPEC_SECRET_FILE")
    return 0


def serve_preflight(settings: Settings) -> str | None:
    """Why the service cannot start with these settings (None when it can): caught before uvicorn
    starts, so the operator reads one clear line instead of a traceback."""
    try:
        if settings.env == "prod":
            load_keyring(settings)
            load_secret(settings)
    except (DatabaseUrlError, KeyfileError, SecretFileError) as exc:
        return str(exc)
    return storage_problem(settings)  # the database (reachable, at a known revision) and Redis


def purge_once(settings: Settings) -> int:
    """Run the purge of expired rows once (``authspec.storage.purge``), as the service does hourly."""

    async def run() -> PurgeReport | str:
        db = Database.from_settings(settings)
        try:
            at, head = await current_revision(db), head_revision()
            if at != head:
                return f"the database is at revision {at or 'empty'}, not {head}; run `authspec migrate` first"
            before = SystemClock().now() - timedelta(seconds=RETENTION_SECONDS)
            return await purge(db, before, batch_size=settings.purge_batch_size, access_ttl=settings.access_ttl)
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except DatabaseUrlError as exc:
        return _fail("purge", str(exc), status=2)
    except (ServiceUnavailable, OSError, OperationalError, InterfaceError) as exc:
        return _fail("purge", f"cannot reach the database ({type(exc.__cause__ or exc).__name__})", status=2)
    if isinstance(report, str):
        return _fail("purge", report, status=2)
    if report.skipped:
        _say("authspec purge: skipped; another instance is purging this database (its advisory lock is held)")
    else:
        _say(f"authspec purge: deleted {report.rows} expired row(s) in {report.batches} batch(es)")
    return 0
