"""The local half of ``authspec.verify``: an access token checked against a JWKS, with no network.

``check_token(token, keys, issuer=..., audience=...)`` is the plain function: it checks what
RFC 8725 and RFC 9068 ask of an authspec access token (EdDSA only, header ``typ: at+jwt``, a known
``kid``, the signature, ``iss`` and ``aud``, claim ``typ: access``, ``sub``/``sid``/``jti`` present,
``exp``/``nbf``/``iat`` with a small leeway) and returns its ``Claims`` or raises ``TokenRejected``.
``KeySet`` is a JWKS document turned into Ed25519 public keys by ``kid``. ``SignatureCache`` keeps
the outcome of the costly part (the signature, which does not depend on time) for recently seen
tokens; the time checks run on every call. Only the standard library, PyJWT and cryptography.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALGORITHM = "EdDSA"
HEADER_TYPE = "at+jwt"
CLAIM_TYPE = "access"
REQUIRED = ("sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ")
#: Seconds of clock difference tolerated on ``exp``, ``nbf`` and ``iat``.
DEFAULT_LEEWAY = 5.0


class TokenRejected(Exception):
    """The token is refused. ``code`` is authspec's errorCode for it, as its own endpoints answer:
    ``authentication_required`` (no token), ``invalid_token`` (malformed, wrong
    signature/issuer/audience/type, unknown key), ``token_expired`` or ``session_ended`` (revoked:
    logout, revoked session, refresh-token reuse). The message never contains the token."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class UnknownKey(TokenRejected):
    """The token names a ``kid`` the key set does not hold (a refetch of the JWKS may find it)."""


@dataclass(frozen=True)
class Claims:
    """The verified claims of an access token; ``claims`` holds every claim as signed."""

    sub: str
    sid: str
    jti: str
    iat: int
    exp: int
    claims: Mapping[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class KeySet:
    """The Ed25519 keys of a JWKS document, by ``kid`` (other key types are ignored)."""

    keys: Mapping[str, Ed25519PublicKey]

    @classmethod
    def from_jwks(cls, document: Mapping[str, Any]) -> KeySet:
        found: dict[str, Ed25519PublicKey] = {}
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise ValueError("a JWKS document holds a list named keys")
        for entry in entries:
            if not isinstance(entry, Mapping) or entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                continue
            kid, x = entry.get("kid"), entry.get("x")
            if entry.get("use", "sig") != "sig" or not isinstance(kid, str) or not isinstance(x, str):
                continue
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            found[kid] = Ed25519PublicKey.from_public_bytes(raw)
        return cls(found)


def _rejected(message: str = "The access token is not valid") -> TokenRejected:
    return TokenRejected(message)


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read without PyJWT's full parse (PyJWT checks the whole token next)."""
    first = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    except (ValueError, TypeError):
        raise _rejected() from None
    if not isinstance(header, dict):
        raise _rejected()
    return header


def verified_claims(token: str, keys: KeySet, *, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of a token whose header, signature, issuer, audience and type are right, at any
    time (``check_times`` does the rest); ``UnknownKey`` when its ``kid`` is not in ``keys``."""
    header = _header(token)
    if header.get("alg") != ALGORITHM or header.get("typ") != HEADER_TYPE:
        raise _rejected()
    key = keys.keys.get(str(header.get("kid", "")))
    if key is None:
        raise UnknownKey("The access token's signing key is not known")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": list(REQUIRED), "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError:
        raise _rejected() from None
    if claims.get("typ") != CLAIM_TYPE:
        raise _rejected()
    for name in ("sub", "sid", "jti"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise _rejected()
    return claims


def check_times(claims: Mapping[str, Any], *, now: float, leeway: float = DEFAULT_LEEWAY) -> Claims:
    """``Claims`` when ``exp``, ``nbf`` and ``iat`` hold at ``now`` (epoch seconds) give or take
    ``leeway``; ``TokenRejected`` (``token_expired`` after ``exp``) otherwise."""
    try:
        iat, exp = int(claims["iat"]), int(claims["exp"])
        nbf = int(claims.get("nbf", iat))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise _rejected() from None
    if iat > now + leeway or nbf > now + leeway:
        raise _rejected()
    if exp <= now - leeway:
        raise TokenRejected("The access token has expired", code="token_expired")
    return Claims(sub=claims["sub"], sid=claims["sid"], jti=claims["jti"], iat=iat, exp=exp, claims=claims)


def check_token(
    token: str,
    keys: KeySet,
    *,
    issuer: str,
    audience: str,
    leeway: float = DEFAULT_LEEWAY,
    now: float | None = None,
) -> Claims:
    """The plain function: the ``Claims`` of a valid access token, or ``TokenRejected``.

    Local only: it says nothing about revocation (``Verifier.verify`` adds that).
    """
    claims = verified_claims(token, keys, issuer=issuer, audience=audience)
    return check_times(claims, now=time.time() if now is None else now, leeway=leeway)


class SignatureCache:
    """The last ``size`` tokens whose signature checked out, with their claims, for one key set."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._keys: KeySet | None = None
        self._claims: dict[str, dict[str, Any]] = {}

    def claims(self, token: str, keys: KeySet, *, issuer: str, audience: str) -> dict[str, Any]:
        if keys is not self._keys:  # a new JWKS: a removed key must not keep its tokens valid
            self._keys, self._claims = keys, {}
        cached = self._claims.get(token)
        if cached is None:
            cached = verified_claims(token, keys, issuer=issuer, audience=audience)
            if len(self._claims) >= self.size:
                del self._claims[next(iter(self._claims))]
            self._claims[token] = cached
        return cached
