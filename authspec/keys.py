"""Signing keys: a keyring of Ed25519 keys in one PEM file, newest first.

The first key signs; every key in the ring verifies, so rotation is "prepend a new key" and, once
tokens signed by the old key have expired, "retire" it (drop it from the file). A key's ``kid`` is
its RFC 7638 JWK thumbprint, so the file needs no metadata and a kid cannot be forged to name a
different key. Private keys never leave this module except to sign.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
_PEM_BLOCK = re.compile(rb"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", re.DOTALL)


class KeyringError(Exception):
    """The key file is missing, unreadable or holds no usable key."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key pair and its thumbprint kid."""

    private_key: Ed25519PrivateKey

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

    def public_jwk(self) -> dict[str, Any]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())


class Keyring:
    """Keys newest first: ``active`` signs, ``find(kid)`` verifies."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one key")
        self.keys = list(keys)
        self._by_kid = {key.kid: key for key in self.keys}

    @property
    def active(self) -> SigningKey:
        return self.keys[0]

    def find(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set (RFC 7517) of every key in the ring."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    @classmethod
    def generate(cls) -> Keyring:
        return cls([SigningKey.generate()])

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyringError(f"cannot read the signing key file {path}: {exc.strerror}") from exc
        keys = []
        for block in _PEM_BLOCK.findall(data):
            try:
                key = serialization.load_pem_private_key(block, password=None)
            except ValueError as exc:
                raise KeyringError(f"{path} holds a key that cannot be loaded: {exc}") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise KeyringError(f"{path} holds a key that is not Ed25519; only EdDSA keys are supported")
            keys.append(SigningKey(key))
        if not keys:
            raise KeyringError(f"{path} holds no PEM private key")
        return cls(keys)

    def save(self, path: Path) -> None:
        """Write the ring atomically with owner-only permissions."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(key.pem() for key in self.keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def rotated(self) -> Keyring:
        """A ring with a new signing key in front; the old keys still verify."""
        return Keyring([SigningKey.generate(), *self.keys])

    def retired(self, keep: int = 1) -> Keyring:
        """A ring without its oldest keys, keeping the ``keep`` newest."""
        return Keyring(self.keys[: max(1, keep)])


def load_or_create(path: Path) -> Keyring:
    """Development: load the ring at ``path``, generating and saving one on first start."""
    if path.exists():
        return Keyring.load(path)
    ring = Keyring.generate()
    ring.save(path)
    return ring
