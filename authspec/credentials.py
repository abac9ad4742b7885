"""Access tokens (signed JWTs) and opaque tokens (refresh, registration, codes).

Access tokens are EdDSA JWTs with header ``typ: at+jwt`` and a ``kid`` from the keyring, carrying
``sub, sid, jti, iat, exp, iss, aud, typ``. Verification is explicit about every rule of RFC 8725:
an algorithm allow-list (never ``none``, never HMAC, so a public key cannot be used as an HMAC
secret), a known ``kid`` only, required claims, issuer and audience, ``typ`` both in the header
and the claims, and time checked against the injected clock (the mock moves it), not the wall
clock. Checking that the token's session is still active is the caller's job: this module knows
no sessions.

Opaque tokens carry 256 random bits and are stored only as their SHA-256; email codes are six
CSPRNG digits, stored as an HMAC so a stolen table does not give them away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from authspec.clock import Clock
from authspec.errors import Unauthorized
from authspec.keys import ALGORITHM, Keyring

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a JOSE media type (RFC 9068), not a secret
ACCESS_CLAIM_TYPE = "access"
REQUIRED_CLAIMS = ("sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ")
#: How many verified tokens ``AccessTokens.verify`` remembers (signature checks are the costly part).
VERIFIED_CACHE_SIZE = 4096


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of an access token."""

    sub: str
    sid: str
    jti: str
    iat: int
    exp: int

    def as_token_info(self) -> dict[str, Any]:
        """What Connexion hands handlers as ``token_info`` (``user`` is ``sub``)."""
        return {"sub": self.sub, "sid": self.sid, "jti": self.jti, "iat": self.iat, "exp": self.exp}


class AccessTokens:
    """Issue and verify access tokens with a keyring, an issuer, an audience and a clock."""

    def __init__(
        self,
        keyring: Keyring,
        *,
        issuer: str,
        audience: str,
        ttl: int,
        clock: Clock,
        claims: Mapping[str, str] | None = None,
    ) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.clock = clock
        #: Further claims every issued token carries (the mock: the namespace it was issued in).
        self.claims = dict(claims or {})
        self._verified: dict[str, tuple[Keyring, dict[str, Any]]] = {}

    def issue(
        self,
        user_id: str,
        session_id: str,
        *,
        not_after: datetime | None = None,
        jti: str | None = None,
        issued_at: datetime | None = None,
    ) -> tuple[str, int]:
        """A signed token and its lifetime in seconds (never past ``not_after``).

        ``jti`` (default: random) and ``issued_at`` (default: now) let a caller issue the very same
        token again: Ed25519 signatures are deterministic, so equal claims give equal tokens.
        """
        now = issued_at or self.clock.now()
        expires = now + timedelta(seconds=self.ttl)
        if not_after is not None and not_after < expires:
            expires = not_after
        iat, exp = int(now.timestamp()), int(expires.timestamp())
        claims = {
            **self.claims,
            "sub": user_id,
            "sid": session_id,
            "jti": jti or str(uuid.uuid4()),
            "iat": iat,
            "exp": exp,
            "iss": self.issuer,
            "aud": self.audience,
            "typ": ACCESS_CLAIM_TYPE,
        }
        # The key that signs at the issue instant, by this clock (not by the wall clock): a pending key
        # starts at its activation time without a reload, and a grace-window replay (issued_at in
        # the past) gets the very same token even across an activation. A key active then is
        # active now, so it is published everywhere.
        key = self.keyring.signing_key(now)
        token = jwt.encode(
            claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
        )
        return token, max(1, exp - iat)

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; ``Unauthorized`` (invalid_token / token_expired) otherwise."""
        cached = self._verified.get(token)
        if cached is not None and cached[0] is self.keyring:
            claims = cached[1]
        else:
            claims = self._verified_claims(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest entry
            self._verified[token] = (self.keyring, claims)
        try:
            iat, exp = int(claims["iat"]), int(claims["exp"])
            nbf = int(claims.get("nbf", iat))
        except (TypeError, ValueError):
            raise _invalid() from None
        now = self.clock.now().timestamp()
        if nbf > now + 1 or iat > now + 1:  # one second of skew between instances
            raise _invalid()
        if exp <= now:
            raise Unauthorized("The access token has expired", code="token_expired")
        return AccessClaims(sub=str(claims["sub"]), sid=str(claims["sid"]), jti=str(claims["jti"]), iat=iat, exp=exp)

    def signed_claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this keyring signed for this issuer and audience, whatever the
        time (None for any other string): enough to say where a refused token came from."""
        try:
            return self._verified_claims(token)
        except Unauthorized:
            return None

    def _verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature, header, issuer, audience and type are right.

        None of these checks depends on time, so their outcome for a given token and keyring is
        kept (``verify`` holds the last ``VERIFIED_CACHE_SIZE`` tokens that passed): an Ed25519
        verification costs more than the rest of a request. A keyring reload empties it in effect.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid() from None
        if header.get("alg") != ALGORITHM or header.get("typ") != ACCESS_TOKEN_TYPE:
            raise _invalid()
        key = self.keyring.find(str(header.get("kid", "")))
        if key is None:
            raise _invalid()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # Time is checked by ``verify`` against the injected clock, not the wall clock.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise _invalid() from None
        if claims.get("typ") != ACCESS_CLAIM_TYPE:
            raise _invalid()
        return claims

    def jwks(self) -> dict[str, Any]:
        return self.keyring.jwks()


def _invalid() -> Unauthorized:
    return Unauthorized("The access token is not valid", code="invalid_token")


def new_opaque_token() -> str:
    """256 random bits, base64url (43 characters): refresh and registration tokens."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of an opaque token: SHA-256, hex (the token itself is never stored)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    """Six digits from the CSPRNG."""
    return f"{secrets.randbelow(1_000_000):06d}"


class CodeHasher:
    """HMAC-SHA256 of email codes under a server secret: 10^6 codes are trivial to brute-force
    from a plain hash, not from a keyed one."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def hash(self, email: str, code: str) -> str:
        return hmac.new(self._secret, f"{email}\x00{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, email: str, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.hash(email, code), stored)
