"""Where the signing keyring lives, who may read it, and what happens when it is not there.

``AUTHSPEC_JWT_PRIVATE_KEY_FILE`` names it. Without it (development only; settings refuse prod
without one) the ring is kept beside the SQLite database (``authspec.db`` →
``authspec.keys.pem``), or in the working directory for PostgreSQL, and generated on first
start: in memory by ``load_keyring``, and written by ``persist_keyring`` only once the startup
checks have passed, so a start that fails leaves no file behind. With ``AUTHSPEC_ENV=prod`` a
missing file, or one that group or others may read (``private_file_problem``), stops startup with
``KeyfileError`` and a message that says what to do. Writing is exclusive (``os.link`` of a
finished temp file), so workers starting together end up with the same key; every file is
written 0600. ``rotate``, ``activate`` and ``retire`` are the key schedule's edits
(``authspec keys``), each taking the instant it counts from.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from authspec.keys import Keyring, KeyringError
from authspec.settings import Settings
from authspec.storage.engine import sqlite_path

DEV_KEY_NAME = "authspec.keys.pem"


class KeyfileError(Exception):
    """The signing key cannot be used; the message says what to do."""


def key_path(settings: Settings) -> Path:
    """The keyring file these settings use."""
    if settings.jwt_private_key_file is not None:
        return settings.jwt_private_key_file
    database = sqlite_path(settings.database_url)
    if database is not None:
        return database.with_name(f"{database.stem}.keys.pem")
    return Path(DEV_KEY_NAME)


def private_file_problem(setting: str, path: Path) -> str | None:
    """Why ``path`` is refused in prod (group or others may read or write it), in one line naming
    the setting, the file and its mode; None when it is owner-only (or absent)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None  # the caller's read says why it cannot be used
    if mode & 0o077:
        return (
            f"{setting}: {path} is accessible by group or others (mode {mode:04o}); "
            f"make it owner-only with `chmod 600 {path}` and start again"
        )
    return None


def write_exclusive(path: Path, write: Callable[[Path], None]) -> bool:
    """Create ``path`` (0600) from a finished temp file unless it exists; True when this call made it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.new")
    write(tmp)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


def persist_keyring(settings: Settings, ring: Keyring) -> Keyring:
    """Save ``ring`` at the settings' key path unless a ring is there already; return what is on disk.

    Called once the startup checks have passed. A ring that appeared first (another worker's)
    wins, and the caller switches to it.
    """
    path = key_path(settings)
    if not path.exists():
        write_exclusive(path, ring.save)
    return Keyring.load(path)


def load_keyring(settings: Settings) -> Keyring:
    """The signing keyring for ``settings``: loaded, generated in memory in dev (see
    ``persist_keyring``), or refused."""
    path = key_path(settings)
    try:
        if path.exists():
            problem = private_file_problem("AUTHSPEC_JWT_PRIVATE_KEY_FILE", path) if settings.env == "prod" else None
            if problem is not None:
                raise KeyfileError(problem)
            return Keyring.load(path)
        if settings.env == "prod":
            raise KeyfileError(
                f"AUTHSPEC_ENV=prod and the signing key file {path} does not exist. Create it once with "
                f"`authspec keys rotate --file {path}` (keep it secret, share it between instances) and start again."
            )
        return Keyring.generate()
    except KeyringError as exc:
        raise KeyfileError(f"the signing key file cannot be used: {exc}") from None


def rotate(path: Path, *, now: datetime, delay: float = 0.0) -> Keyring:
    """Put a new key in front of the ring at ``path``, signing ``delay`` seconds after ``now``; a
    new ring's first key signs at once (there is nothing to roll over from)."""
    ring = Keyring.load(path).rotated(now=now, delay=delay) if path.exists() else Keyring.generate(now)
    ring.save(path)
    return ring


def activate(path: Path, *, now: datetime, kid: str | None = None) -> Keyring:
    """Make the newest key (or ``kid``) of the ring at ``path`` sign from ``now``."""
    ring = Keyring.load(path).activated(kid, now)
    ring.save(path)
    return ring


def retire(path: Path, keep: int = 1, *, now: datetime) -> tuple[Keyring, int]:
    """Drop all but the ``keep`` newest keys, never the signing or a pending one; returns the ring
    and how many keys went."""
    ring = Keyring.load(path)
    kept = ring.retired(keep, now)
    kept.save(path)
    return kept, len(ring.keys) - len(kept.keys)
