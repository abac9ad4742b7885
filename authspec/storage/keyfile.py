"""Where the signing keyring lives, and what happens when it is not there.

``AUTHSPEC_JWT_PRIVATE_KEY_FILE`` names it. Without it (development only; settings refuse prod
without one) the ring is kept beside the SQLite database (``authspec.db`` →
``authspec.keys.pem``), or in the working directory for PostgreSQL, and generated on first
start. With ``AUTHSPEC_ENV=prod`` a missing file stops startup with ``KeyfileError`` and a
message that says how to create one. Creation is exclusive (``os.link`` of a finished temp file),
so workers starting together end up with the same key.
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


def create_exclusively(path: Path) -> Keyring:
    """Generate and save a ring at ``path`` unless one appears there first; return what is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Keyring.generate().save(tmp)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return Keyring.load(path)


def load_keyring(settings: Settings) -> Keyring:
    """The signing keyring for ``settings``: loaded, generated on first start in dev, or refused."""
    path = key_path(settings)
    try:
        if path.exists():
            return Keyring.load(path)
        if settings.env == "prod":
            raise KeyfileError(
                f"AUTHSPEC_ENV=prod and the signing key file {path} does not exist. Create it once with "
                f"`authspec keys rotate --file {path}` (keep it secret, share it between instances) and start again."
            )
        return create_exclusively(path)
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
