"""Server-side secrets of the services, derived from one service secret (not from signing keys).

Two keyed functions: the HMAC that stores email codes (``authspec.credentials.CodeHasher``) and the
one that derives a refresh token's successor from the token itself. Deriving the successor
(rather than storing it) is what lets every request that presents the same parent inside the
grace window receive the *same* successor while the database holds hashes only. Both come from
the service secret (``AUTHSPEC_SECRET_FILE``, see ``authspec.storage.secretfile``) under their own
labels, so rotating or retiring a signing key changes neither: a code in flight still verifies
and a grace-window replay still gets its successor. A third label keys the email hash that log
lines carry in place of an address. (Registration tokens need no secret: they
are random and stored as SHA-256, like refresh tokens.) The mock keeps a generated one in memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from authspec.credentials import CodeHasher

#: Bytes of a generated service secret (256 bits); a shorter one is refused.
SECRET_BYTES = 32


@dataclass(frozen=True)
class ServiceSecrets:
    codes: CodeHasher
    refresh_key: bytes
    #: Keys the email hashes of log lines (``email_hash``): the same email, the same hash.
    log_key: bytes = b""

    @classmethod
    def from_secret(cls, secret: bytes) -> ServiceSecrets:
        """The keyed functions of one service secret (at least ``SECRET_BYTES`` bytes)."""
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"a service secret needs at least {SECRET_BYTES} bytes, this one has {len(secret)}")
        return cls(
            codes=CodeHasher(hmac.new(secret, b"authspec email codes v1", hashlib.sha256).digest()),
            refresh_key=hmac.new(secret, b"authspec refresh successors v1", hashlib.sha256).digest(),
            log_key=hmac.new(secret, b"authspec log emails v1", hashlib.sha256).digest(),
        )

    @classmethod
    def generate(cls) -> ServiceSecrets:
        """Secrets of a fresh random service secret (the mock's, or a test's)."""
        return cls.from_secret(secrets.token_bytes(SECRET_BYTES))

    def successor_of(self, refresh_token: str) -> str:
        """The refresh token that replaces ``refresh_token``: 256 bits, base64url, 43 characters."""
        digest = hmac.new(self.refresh_key, refresh_token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def email_hash(self, email: str) -> str:
        """The keyed hash logs carry instead of ``email`` (16 hex digits of an HMAC-SHA256 of the
        normalized address): lines about one email can be joined, the address is never written."""
        return email_hash(self.log_key, email)


def email_hash(key: bytes, email: str) -> str:
    """16 hex digits of the HMAC-SHA256 under ``key`` of ``email``, stripped and lower-cased."""
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]
