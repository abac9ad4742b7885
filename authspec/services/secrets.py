"""Server-side secrets of the services, derived from the signing keyring.

Two keyed functions: the HMAC that stores email codes (``authspec.credentials.CodeHasher``) and the
one that derives a refresh token's successor from the token itself. Deriving the successor
(rather than storing it) is what lets every request that presents the same parent inside the
grace window receive the *same* successor while the database holds hashes only. Both secrets
come from the oldest key of the ring, so rotating the signing key does not change them; retiring
that key does (codes in flight then fail, and so does a grace-window replay, once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from authspec.credentials import CodeHasher
from authspec.keys import Keyring


@dataclass(frozen=True)
class ServiceSecrets:
    codes: CodeHasher
    refresh_key: bytes

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> ServiceSecrets:
        seed = keyring.keys[-1].pem()
        return cls(
            codes=CodeHasher.from_keyring(keyring),
            refresh_key=hmac.new(seed, b"authspec refresh successors v1", hashlib.sha256).digest(),
        )

    def successor_of(self, refresh_token: str) -> str:
        """The refresh token that replaces ``refresh_token``: 256 bits, base64url, 43 characters."""
        digest = hmac.new(self.refresh_key, refresh_token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
