"""Where the signing keyring lives, and what happens when it is not there.

``AUTHSPEC_JWT_PRIVATE_KEY_FILE`` names it. Without it (development only; settings refuse prod
without one) the ring is kept beside the SQLite database (``authspec.db`` →
``authspec.keys.pem``), or in the working directory for PostgreSQL, and generated on first
start: in memory by ``load_keyring``, and written by ``persist_keyring`` only once the startup
checks have passed, so a start that fails leaves no file behind. With ``AUTHSPEC_ENV=prod`` a
missing file stops startup with ``KeyfileError`` and a message that says how to create one.
Writing is exclusive (``os.link`` of a finished temp file), so workers starting together end up
with the same key.
"""

from __future__ import annotations

import os
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


def persist_keyring(settings: Settings, ring: Keyring) -> Keyring:
    """Save ``ring`` at the settings' key path unless a ring is there already; return what is on disk.

    Called once the startup checks have passed. A ring that appeared first (another worker's)
    wins, and the caller switches to it.
    """
    path = key_path(settings)
    if path.exists():
        return Keyring.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ring.save(tmp)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return Keyring.load(path)


def load_keyring(settings: Settings) -> Keyring:
    """The signing keyring for ``settings``: loaded, generated in memory in dev (see
    ``persist_keyring``), or refused."""
    path = key_path(settings)
    try:
        if path.exists():
            return Keyring.load(path)
        if settings.env == "prod":
            raise KeyfileError(
                f"AUTHSPEC_ENV=prod and the signing key file {path} does not exist. Create it once with "
                f"`authspec keys rotate --file {path}` (keep it secret, share it between instances) and start again."
            )
        return Keyring.generate()
    except KeyringError as exc:
        raise KeyfileError(f"the signing key file cannot be used: {exc}") from None


def rotate(path: Path) -> Keyring:
    """Put a new signing key in front of the ring at ``path`` (creating the ring if needed)."""
    ring = Keyring.load(path).rotated() if path.exists() else Keyring.generate()
    ring.save(path)
    return ring


def retire(path: Path, keep: int = 1) -> tuple[Keyring, int]:
    """Drop all but the ``keep`` newest keys; returns the ring and how many keys went."""
    ring = Keyring.load(path)
    kept = ring.retired(keep)
    kept.save(path)
    return kept, len(ring.keys) - len(kept.keys)
