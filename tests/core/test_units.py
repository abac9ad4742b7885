"""Unit tests of the core seams: settings, resolver, clock, envelope, keys and access tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from authspec.clock import MovableClock
from authspec.credentials import AccessTokens, CodeHasher, hash_token, new_code, new_opaque_token
from authspec.envelope import format_timestamp
from authspec.errors import AuthspecError, BadRequest, Unauthorized, all_error_codes
from authspec.keys import Keyring, KeyringError, load_or_create
from authspec.resolver import find_handler, snake_case
from authspec.settings import Settings
from tests.jwt_attacks import ATTACKS, jwt_attacks


def test_settings_read_the_authspec_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_ACCESS_TTL", "60")
    monkeypatch.setenv("AUTHSPEC_CORS_ORIGINS", "http://a.test, http://b.test")
    settings = Settings()
    assert settings.access_ttl == 60
    assert settings.cors_origins == ["http://a.test", "http://b.test"]
    assert (settings.refresh_ttl, settings.refresh_grace, settings.code_ttl) == (2_592_000, 10, 300)


def test_prod_refuses_to_start_without_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_ENV", "prod")
    with pytest.raises(ValidationError, match="AUTHSPEC_JWT_PRIVATE_KEY_FILE"):
        Settings(mail_backend="smtp")


def test_snake_case() -> None:
    assert snake_case("requestEmailCode") == "request_email_code"
    assert snake_case("getJwks") == "get_jwks"
    assert snake_case("logout") == "logout"


def test_find_handler_tells_missing_from_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "probe_handlers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text("async def op():\n    return 1\n")
    (package / "broken.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert find_handler("probe_handlers.good.op") is not None
    assert find_handler("probe_handlers.good.other") is None
    assert find_handler("probe_handlers.absent.op") is None
    with pytest.raises(ModuleNotFoundError):
        find_handler("probe_handlers.broken.op")  # a bug, not "not implemented yet"


def test_error_codes_belong_to_their_class() -> None:
    assert Unauthorized(code="refresh_token_reused").code == "refresh_token_reused"
    with pytest.raises(ValueError):
        BadRequest(code="refresh_token_reused")
    assert "refresh_token_reused" in all_error_codes()
    assert AuthspecError().status == 500


def test_timestamps_are_rfc3339_utc_with_z() -> None:
    assert format_timestamp(datetime(2026, 1, 15, 10, 30, tzinfo=UTC)) == "2026-01-15T10:30:00.000Z"
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 1, 15))


def test_movable_clock_advances_and_sets() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock = MovableClock(frozen_at=start)
    assert clock.advance(3600) == datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert clock.set(datetime(2027, 1, 1, tzinfo=UTC)).year == 2027
    clock.reset()
    assert clock.now() == start and clock.offset_seconds == 0


def test_keyring_rotation_and_retirement(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    ring = load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Keyring.load(path).active.kid == ring.active.kid
    rotated = ring.rotated()
    rotated.save(path)
    reloaded = Keyring.load(path)
    assert [k.kid for k in reloaded.keys] == [k.kid for k in rotated.keys]
    assert reloaded.active.kid != ring.active.kid and reloaded.find(ring.active.kid) is not None
    assert [k.kid for k in reloaded.retired(keep=1).keys] == [reloaded.active.kid]
    (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(KeyringError):
        Keyring.load(tmp_path / "empty.pem")


def test_opaque_tokens_and_codes() -> None:
    token = new_opaque_token()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
    assert hash_token(token) != token and len(hash_token(token)) == 64
    assert new_code().isdigit() and len(new_code()) == 6
    hasher = CodeHasher(b"k" * 32)
    stored = hasher.hash("ada@example.com", "123456")
    assert hasher.matches("ada@example.com", "123456", stored)
    assert not hasher.matches("ada@example.com", "123457", stored)
    assert CodeHasher(b"j" * 32).hash("ada@example.com", "123456") != stored


# --- access tokens: the RFC 8725 attack set -------------------------------------------------

CLOCK = MovableClock(frozen_at=datetime(2026, 1, 15, 10, 30, tzinfo=UTC))


@pytest.fixture
def tokens() -> AccessTokens:
    CLOCK.reset()
    return AccessTokens(Keyring.generate(), issuer="authspec", audience="authspec-api", ttl=3600, clock=CLOCK)


def _claims(**overrides: object) -> dict[str, object]:
    now = int(CLOCK.now().timestamp())
    claims: dict[str, object] = {
        "sub": "u1",
        "sid": "s1",
        "jti": "j1",
        "iat": now,
        "exp": now + 3600,
        "iss": "authspec",
        "aud": "authspec-api",
        "typ": "access",
    }
    claims.update(overrides)
    return claims


def _sign(tokens: AccessTokens, claims: dict[str, object], **header: object) -> str:
    key = tokens.keyring.active
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers=headers)


def test_issued_tokens_verify_with_every_claim(tokens: AccessTokens) -> None:
    token, expires_in = tokens.issue("u1", "s1")
    claims = tokens.verify(token)
    assert (claims.sub, claims.sid, expires_in) == ("u1", "s1", 3600)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ"}
    assert jwt.get_unverified_header(token)["kid"] == tokens.keyring.active.kid


def test_tokens_never_outlive_their_session(tokens: AccessTokens) -> None:
    _, expires_in = tokens.issue("u1", "s1", not_after=datetime(2026, 1, 15, 10, 40, tzinfo=UTC))
    assert expires_in == 600


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_tokens_are_refused_with_their_error_code(tokens: AccessTokens, attack: str) -> None:
    now = int(CLOCK.now().timestamp())
    token, code = jwt_attacks(tokens.keyring.active, _claims(), now=now, refresh_token=new_opaque_token())[attack]
    with pytest.raises(Unauthorized) as caught:
        tokens.verify(token)
    assert caught.value.code == code


def test_expired_tokens_are_token_expired(tokens: AccessTokens) -> None:
    token, _ = tokens.issue("u1", "s1")
    CLOCK.advance(3600)
    with pytest.raises(Unauthorized) as caught:
        tokens.verify(token)
    assert caught.value.code == "token_expired"


def test_old_keys_verify_after_rotation(tokens: AccessTokens) -> None:
    token, _ = tokens.issue("u1", "s1")
    tokens.keyring = tokens.keyring.rotated()
    assert tokens.verify(token).sub == "u1"
    new_token, _ = tokens.issue("u2", "s2")
    assert jwt.get_unverified_header(new_token)["kid"] == tokens.keyring.active.kid
    tokens.keyring = tokens.keyring.retired(keep=1)
    with pytest.raises(Unauthorized):
        tokens.verify(token)


def test_compiled_validators_follow_the_named_schemas_connexion_hands_over() -> None:
    from authspec.fastpath import compile_schema

    components = {
        "schemas": {
            "Envelope": {
                "type": "object",
                "required": ["data"],
                "properties": {"data": {"$ref": "#/components/schemas/Data"}},
            },
            "Data": {"type": "string", "nullable": True, "minLength": 2},
        }
    }
    compiled = compile_schema({"$ref": "#/components/schemas/Envelope", "components": components})
    assert compiled is not None
    assert compiled.is_valid({"data": "ok"}) and compiled.is_valid({"data": None})
    assert not compiled.is_valid({"data": "x"}) and not compiled.is_valid({})


def test_a_self_referencing_schema_stays_with_connexions_validator() -> None:
    from authspec.fastpath import compile_schema

    tree = {"type": "array", "items": {"$ref": "#/components/schemas/Tree"}}
    assert compile_schema({"$ref": "#/components/schemas/Tree", "components": {"schemas": {"Tree": tree}}}) is None
