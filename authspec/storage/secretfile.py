"""The service secret: one file of 256 random bits behind code hashes and refresh successors.

``AUTHSPEC_SECRET_FILE`` names it; it is what ``authspec.services.secrets.ServiceSecrets`` derives
its keyed functions from, so it must be the same on every instance and must outlive every signing
key. A file rather than an environment variable: a process's environment can be read from
``/proc/PID/environ``, lands in crash dumps and ``docker inspect``, and is inherited by every
child, while a 0600 file is readable by its owner only. In dev, without the setting, it is kept
beside the database (``authspec.db`` → ``authspec.secret``; for PostgreSQL beside the key file),
generated in memory by ``load_secret`` and written by ``persist_secret`` only once the startup
checks have passed, exclusively and 0600, like the dev key file. In prod the setting is required
(``authspec.settings``), and a missing file, a malformed one or one that group or others may read
stops startup with one line saying what to do (``authspec secrets init --file PATH``).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from authspec.services.secrets import SECRET_BYTES
from authspec.settings import Settings
from authspec.storage.engine import sqlite_path
from authspec.storage.keyfile import key_path, private_file_problem, write_exclusive

DEV_SECRET_NAME = "authspec.secret"  # noqa: S105 - a file name, not a secret
SETTING = "AUTHSPEC_SECRET_FILE"
_HEADER = b"# authspec service secret: keep it owner-only (0600) and the same on every instance\n"


class SecretFileError(Exception):
    """The service secret cannot be used; the message says what to do."""


def secret_path(settings: Settings) -> Path:
    """The secret file these settings use."""
    if settings.secret_file is not None:
        return settings.secret_file
    database = sqlite_path(settings.database_url)
    if database is not None:
        return database.with_name(f"{database.stem}.secret")
    return key_path(settings).with_name(DEV_SECRET_NAME)


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def _write(path: Path, secret: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(_HEADER + base64.urlsafe_b64encode(secret).rstrip(b"=") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_secret(path: Path) -> bytes:
    """The secret held by ``path``: the one line that is not a comment, base64url, 32+ bytes."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SecretFileError(f"{SETTING}: cannot read {path}: {exc.strerror}") from None
    values = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(b"#")]
    try:
        if len(values) != 1:
            raise ValueError
        secret = base64.urlsafe_b64decode(values[0] + b"=" * (-len(values[0]) % 4))
    except (ValueError, binascii.Error):
        raise SecretFileError(
            f"{SETTING}: {path} does not hold one base64url secret line; make a new one with "
            f"`authspec secrets init --file {path}`"
        ) from None
    if len(secret) < SECRET_BYTES:
        raise SecretFileError(f"{SETTING}: {path} holds {len(secret)} bytes; a secret needs at least {SECRET_BYTES}")
    return secret


def load_secret(settings: Settings) -> bytes:
    """The service secret for ``settings``: read, generated in memory in dev (see
    ``persist_secret``), or refused."""
    path = secret_path(settings)
    if path.exists():
        problem = private_file_problem(SETTING, path) if settings.env == "prod" else None
        if problem is not None:
            raise SecretFileError(problem)
        return read_secret(path)
    if settings.env == "prod":
        raise SecretFileError(
            f"{SETTING}: {path} does not exist. Create it once with `authspec secrets init --file {path}` "
            "(keep it secret, the same file on every instance) and start again."
        )
    return new_secret()


def persist_secret(settings: Settings, secret: bytes) -> bytes:
    """Save ``secret`` at the settings' secret path unless one is there already; return what is on
    disk (another worker's, when it was first)."""
    path = secret_path(settings)
    if not path.exists():
        write_exclusive(path, lambda tmp: _write(tmp, secret))
    return read_secret(path)


def init_secret_file(path: Path) -> None:
    """``authspec secrets init``: a new secret at ``path``, never over an existing one."""
    if path.exists():
        raise SecretFileError(
            f"{path} exists and is left alone (a new secret voids every code in flight); remove it first to replace it"
        )
    if not write_exclusive(path, lambda tmp: _write(tmp, new_secret())):
        raise SecretFileError(f"{path} was created by someone else meanwhile; it is left alone")
