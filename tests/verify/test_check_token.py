"""``authspec.verify.check_token``, the local check: what it accepts and every rule it refuses on."""

from __future__ import annotations

import time

import jwt
import pytest

from authspec.verify import KeySet, TokenRejected, check_token
from authspec.verify.tokens import UnknownKey
from tests.verify.fake import AUDIENCE, ISSUER, FakeAuthspec, Key


def keyset(fake: FakeAuthspec) -> KeySet:
    return KeySet.from_jwks({"keys": [key.jwk() for key in fake.keys]})


def check(fake: FakeAuthspec, token: str, **options: object) -> object:
    return check_token(token, keyset(fake), issuer=ISSUER, audience=AUDIENCE, **options)  # type: ignore[arg-type]


def test_a_valid_token_gives_its_claims(fake: FakeAuthspec) -> None:
    claims = check(fake, fake.token(sid="s-1"))
    assert claims.sid == "s-1" and claims.sub == "user-1" and claims.claims["typ"] == "access"  # type: ignore[attr-defined]


IN_TEN_MINUTES = object()  # a claim ten minutes ahead of the clock


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"typ": "refresh"},
        {"sid": None},
        {"sub": None},
        {"jti": None},
        {"sid": 42},
        {"iat": IN_TEN_MINUTES},
        {"nbf": IN_TEN_MINUTES},
        {"header_typ": "JWT"},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_token_breaking_one_rule_is_invalid(fake: FakeAuthspec, changes: dict[str, object]) -> None:
    # An instant in the future is taken when the test runs, not when it was collected.
    changes = {k: int(time.time()) + 600 if v is IN_TEN_MINUTES else v for k, v in changes.items()}
    with pytest.raises(TokenRejected) as refused:
        check(fake, fake.token(**changes))
    assert refused.value.code == "invalid_token"


def test_an_expired_token_is_token_expired(fake: FakeAuthspec) -> None:
    with pytest.raises(TokenRejected) as refused:
        check(fake, fake.token(ttl=-60))
    assert refused.value.code == "token_expired"


def test_the_leeway_tolerates_a_few_seconds_of_skew(fake: FakeAuthspec) -> None:
    check(fake, fake.token(ttl=-2), leeway=5)
    check(fake, fake.token(iat=int(time.time()) + 3), leeway=5)


def test_a_token_of_another_key_is_an_unknown_key(fake: FakeAuthspec) -> None:
    with pytest.raises(UnknownKey):
        check(fake, fake.token(key=Key()))


def test_a_forged_signature_is_invalid(fake: FakeAuthspec) -> None:
    token = fake.token()
    head, body, signature = token.split(".")
    forged = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(TokenRejected):
        check(fake, forged)


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_another_algorithm_is_invalid(fake: FakeAuthspec, algorithm: str) -> None:
    claims = jwt.decode(fake.token(), options={"verify_signature": False})
    key = "x" * 32 if algorithm == "HS256" else None
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": fake.keys[0].kid, "typ": "at+jwt"})
    with pytest.raises(TokenRejected):
        check(fake, token)


def test_garbage_is_invalid(fake: FakeAuthspec) -> None:
    for junk in ("", "abc", "a.b.c", "Bearer x"):
        with pytest.raises(TokenRejected):
            check(fake, junk)
