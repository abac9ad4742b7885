"""Signing keys: a keyring of Ed25519 keys in one PEM file, newest first, each with its schedule.

Rotation prepends a key that is *published* at once (it verifies and appears in the JWK Set) but
*signs* only from its activation time, so every instance and every outside verifier has seen it
before the first token it signs: the signing key is the newest key whose activation time has
passed by the caller's clock, so instances that read the same file agree without talking to each
other, and a running instance switches at the activation instant without re-reading the file.
Once tokens of an old key have expired it is retired (dropped from the file). A key's ``kid`` is
its RFC 7638 JWK thumbprint, so a kid cannot be forged to name a different key. The schedule is a
comment line before each PEM block (``# authspec-key kid=… created=… activates-at=…``), which
PEM readers skip; a block without one (an older file) has always been active. Private keys never
leave this module except to sign.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from authspec.clock import SystemClock

ALGORITHM = "EdDSA"
#: How long the JWK Set may be cached (its ``Cache-Control: max-age``), by instances' clients and proxies.
JWKS_MAX_AGE = 300
#: How often a running service looks at the key file, by default (``AUTHSPEC_KEY_RELOAD_INTERVAL``).
KEY_RELOAD_SECONDS = 10
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", re.DOTALL)
_META_LINE = re.compile(rb"^# authspec-key (?P<fields>.*)$", re.MULTILINE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class KeyringError(Exception):
    """The key file is missing, unreadable or holds no usable key."""


class KeyState(Enum):
    """What a key of the ring does at a given instant."""

    SIGNING = "signing"
    PENDING = "published, not yet signing"
    VERIFYING = "verifying only"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def format_instant(moment: datetime) -> str:
    """RFC 3339 UTC as the key file writes it: ``2026-12-04T19:00:00Z``, milliseconds when there are any
    (``2026-12-04T19:00:00.250Z``)."""
    moment = moment.astimezone(UTC)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}Z" if millis else "Z")


def _millisecond(moment: datetime) -> datetime:
    """``moment`` as the file keeps it: to the millisecond (a delay loses under a millisecond)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _instant(text: str, path: Path, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise KeyringError(f"{path}: {name}={text} is not an RFC 3339 instant") from None
    if moment.tzinfo is None:
        raise KeyringError(f"{path}: {name}={text} has no time zone (write it with Z)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key pair, its thumbprint kid and its schedule (None: no record, always active)."""

    private_key: Ed25519PrivateKey
    created_at: datetime | None = None
    activates_at: datetime | None = None

    @functools.cached_property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def x(self) -> str:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _b64url(raw)

    @functools.cached_property
    def kid(self) -> str:
        # RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self.x}, separators=(",", ":"), sort_keys=True)
        return _b64url(hashlib.sha256(canonical.encode()).digest())

    def active_at(self, now: datetime) -> bool:
        return self.activates_at is None or self.activates_at <= now

    def public_jwk(self) -> dict[str, Any]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def record(self) -> bytes:
        """The key as the file holds it: its metadata line, then its PEM block."""
        fields = [f"kid={self.kid}"]
        if self.created_at is not None:
            fields.append(f"created={format_instant(self.created_at)}")
        if self.activates_at is not None:
            fields.append(f"activates-at={format_instant(self.activates_at)}")
        return f"# authspec-key {' '.join(fields)}\n".encode() + self.pem()

    @classmethod
    def generate(cls, *, created_at: datetime | None = None, activates_at: datetime | None = None) -> SigningKey:
        return cls(Ed25519PrivateKey.generate(), created_at=created_at, activates_at=activates_at)


class Keyring:
    """Keys newest first: ``signing_key(now)`` signs, ``find(kid)`` verifies, all are published."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        self.keys = list(keys)
        self._by_kid = {key.kid: key for key in self.keys}
        # The last answer of signing_key and the interval [since, until) it holds for.
        self._cached: tuple[datetime, datetime | None, SigningKey] | None = None

    def signing_key(self, now: datetime) -> SigningKey:
        """The newest key active at ``now`` (a ring whose every key is pending signs with its oldest).

        Cheap on every call: the answer is kept until the next activation time of a newer key.
        """
        cached = self._cached
        if cached is not None and cached[0] <= now and (cached[1] is None or now < cached[1]):
            return cached[2]
        chosen, until = self.keys[-1], None
        for key in self.keys:
            if key.active_at(now):
                chosen = key
                break
            assert key.activates_at is not None
            until = key.activates_at if until is None else min(until, key.activates_at)
        since = chosen.activates_at if chosen.activates_at is not None and chosen.active_at(now) else _EPOCH
        self._cached = (min(since, now), until, chosen)
        return chosen

    @property
    def active(self) -> SigningKey:
        """The key that signs by the wall clock (commands and tests; services pass their clock's now)."""
        return self.signing_key(SystemClock().now())

    def state(self, key: SigningKey, now: datetime) -> KeyState:
        signing = self.signing_key(now)
        if key.kid == signing.kid:
            return KeyState.SIGNING
        if self.keys.index(key) < self.keys.index(signing):
            return KeyState.PENDING
        return KeyState.VERIFYING

    def next_activation(self, now: datetime) -> datetime | None:
        """When a key newer than today's signing key starts to sign (None: no such key)."""
        signing = self.keys.index(self.signing_key(now))
        times = [k.activates_at for k in self.keys[:signing] if k.activates_at is not None]
        return min(times) if times else None

    def find(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517) of every key in the ring, pending ones included."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    @classmethod
    def generate(cls, now: datetime | None = None) -> Keyring:
        at = None if now is None else _millisecond(now)
        return cls([SigningKey.generate(created_at=at, activates_at=at)])

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyringError(f"cannot read the signing key file {path}: {exc.strerror}") from exc
        keys = []
        start = 0
        for match in _PEM_BLOCK.finditer(data):
            try:
                key = serialization.load_pem_private_key(match.group(0), password=None)
            except ValueError as exc:
                raise KeyringError(f"{path} holds a key that cannot be loaded: {exc}") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyringError(f"{path} holds a key that is not Ed25519; only EdDSA keys are supported")
            keys.append(_with_metadata(SigningKey(key), data[start : match.start()], path))
            start = match.end()
        if not keys:
            raise KeyringError(f"{path} holds no PEM private key")
        return cls(keys)

    def save(self, path: Path) -> None:
        """Write the ring atomically with owner-only permissions."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # O_CREAT's mode does not apply to a leftover temp file
            handle.write(b"".join(key.record() for key in self.keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def rotated(self, *, now: datetime | None = None, delay: float = 0.0) -> Keyring:
        """A ring with a new key in front, signing ``delay`` seconds after ``now`` (at once without a
        ``now``); the old keys still verify, and the newest of them signs until then."""
        if now is None:
            return Keyring([SigningKey.generate(), *self.keys])
        activates = _millisecond(now + timedelta(seconds=delay))
        return Keyring([SigningKey.generate(created_at=_millisecond(now), activates_at=activates), *self.keys])

    def activated(self, kid: str | None, now: datetime) -> Keyring:
        """A ring whose newest key (or ``kid``) signs from ``now``; refused for an unknown key or one
        that is already active (it would not sign: a newer key is active too)."""
        key = self.keys[0] if kid is None else self.find(kid)
        if key is None:
            raise KeyringError(f"no key with kid {kid} in the ring")
        if key.active_at(now):
            state = self.state(key, now)
            raise KeyringError(f"the key {key.kid} is already active ({state.value}); nothing to activate")
        return Keyring([replace(k, activates_at=_millisecond(now)) if k.kid == key.kid else k for k in self.keys])

    def retired(self, keep: int = 1, now: datetime | None = None) -> Keyring:
        """A ring without its oldest keys, keeping the ``keep`` newest and never the key that signs
        at ``now`` (default: the wall clock) or one that will sign later."""
        signing = self.keys.index(self.signing_key(now or SystemClock().now()))
        return Keyring(self.keys[: max(1, keep, signing + 1)])


def _with_metadata(key: SigningKey, preamble: bytes, path: Path) -> SigningKey:
    """``key`` with the schedule of the last metadata line before its PEM block, checked against it."""
    lines = _META_LINE.findall(preamble)
    if not lines:
        return key
    fields = dict(field.partition("=")[::2] for field in lines[-1].decode(errors="replace").split())
    if fields.get("kid", key.kid) != key.kid:
        raise KeyringError(f"{path}: the metadata line of kid {fields['kid']} stands before the key {key.kid}")
    created = fields.get("created")
    activates = fields.get("activates-at")
    return replace(
        key,
        created_at=None if created is None else _instant(created, path, "created"),
        activates_at=None if activates is None else _instant(activates, path, "activates-at"),
    )


def load_or_create(path: Path) -> Keyring:
    """Development: load the ring at ``path``, generating and saving one on first start."""
    if path.exists():
        return Keyring.load(path)
    ring = Keyring.generate()
    ring.save(path)
    return ring
