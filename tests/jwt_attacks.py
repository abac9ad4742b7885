"""The one JWT attack table: forged and misused access tokens, each with the errorCode it must get.

Three layers run it: the verifier itself (``tests/core/test_units.py``), the service in process
(``tests/service/test_tokens.py``) and a started server (``tests/resilience/test_hostile_input.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from authspec.keys import Keyring, SigningKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    return token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")


def jwt_attacks(key: SigningKey, real: dict[str, Any], *, now: int, refresh_token: str) -> dict[str, tuple[str, str]]:
    """Each attack on ``key``'s verifier: a token made from the genuine claims ``real`` (``now`` is the
    verifier's clock, in seconds) and the errorCode it must be refused with."""
    head = {"kid": key.kid, "typ": "at+jwt"}

    def signed(claims: dict[str, Any], header: dict[str, Any] | None = None, *, drop: str | None = None) -> str:
        payload = {k: v for k, v in {**real, **claims}.items() if k != drop}
        return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={**head, **(header or {})})

    body = _b64(json.dumps(real).encode())
    none_head = _b64(json.dumps({"alg": "none", **head}).encode())
    hs_head = _b64(json.dumps({"alg": "HS256", **head}).encode())
    public_pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_sig = _b64(hmac.new(public_pem, f"{hs_head}.{body}".encode(), hashlib.sha256).digest())
    stranger = Keyring.generate().active
    genuine = signed({})
    return {
        "alg-none": (f"{none_head}.{body}.", "invalid_token"),
        "hs256-signed-with-the-public-key": (f"{hs_head}.{body}.{hs_sig}", "invalid_token"),
        "unknown-kid": (signed({}, {"kid": "no-such-key"}), "invalid_token"),
        "foreign-key-with-our-kid": (
            jwt.encode(real, stranger.private_key, algorithm="EdDSA", headers=head),
            "invalid_token",
        ),
        "wrong-iss": (signed({"iss": "https://evil.example"}), "invalid_token"),
        "wrong-aud": (signed({"aud": "another-api"}), "invalid_token"),
        "expired": (signed({"iat": now - 7200, "exp": now - 3600}), "token_expired"),
        "nbf-in-the-future": (signed({"nbf": now + 3600}), "invalid_token"),
        "iat-in-the-future": (signed({"iat": now + 600}), "invalid_token"),
        "typ-claim-not-access": (signed({"typ": "refresh"}), "invalid_token"),
        "typ-header-not-at+jwt": (signed({}, {"typ": "JWT"}), "invalid_token"),
        "missing-sid": (signed({}, drop="sid"), "invalid_token"),
        "refresh-token-as-access-token": (refresh_token, "invalid_token"),
        "tampered-signature": (_tampered(genuine), "invalid_token"),
        "garbage": ("a.b.c", "invalid_token"),
    }


#: The names of ``jwt_attacks``, for parametrising (the table itself needs a key and claims).
ATTACKS = [
    "alg-none",
    "hs256-signed-with-the-public-key",
    "unknown-kid",
    "foreign-key-with-our-kid",
    "wrong-iss",
    "wrong-aud",
    "expired",
    "nbf-in-the-future",
    "iat-in-the-future",
    "typ-claim-not-access",
    "typ-header-not-at+jwt",
    "missing-sid",
    "refresh-token-as-access-token",
    "tampered-signature",
    "garbage",
]
