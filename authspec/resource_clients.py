"""The resource servers allowed to introspect tokens and read the revocation feed, and their HTTP Basic check.

A resource server (one of the team's own APIs) authenticates with HTTP Basic ``client_id:secret``.
Only the SHA-256 (hex) of each secret is configured: ``AUTHSPEC_INTROSPECTION_CLIENTS`` holds
comma-separated ``client_id:sha256-hex`` pairs, ``AUTHSPEC_INTROSPECTION_CLIENTS_FILE`` the same, one
pair a line (blank lines and ``#`` comments ignored); both may be set (their union). A malformed
entry is one line naming the setting. ``ResourceClients.authenticate`` compares the hash of the
presented secret with ``hmac.compare_digest`` — against a stand-in hash for an unknown id too — and
refuses a missing, malformed, unknown or wrong credential with the same 401 ``invalid_client``,
whatever the request carries besides. Id and secret may come form-encoded, as RFC 6749 2.3.1 has
OAuth clients send them, or as they are (curl, httpx). The mock, with neither setting, accepts the documented
development client ``dev-resource-server`` / ``dev-secret``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote_plus

from authspec.errors import Unauthorized

#: The mock's development client when no client is configured (README, the mock's docs).
DEV_CLIENT_ID = "dev-resource-server"
DEV_CLIENT_SECRET = "dev-secret"  # noqa: S105 - documented, accepted by the mock only

CLIENTS_SETTING = "AUTHSPEC_INTROSPECTION_CLIENTS"
CLIENTS_FILE_SETTING = "AUTHSPEC_INTROSPECTION_CLIENTS_FILE"

_CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
#: Compared against when the client id is unknown, so both paths do the same work.
_STAND_IN = hashlib.sha256(b"authspec: no such client").hexdigest()


def secret_hash(secret: str) -> str:
    """What a client's entry holds for ``secret``: the SHA-256 of its UTF-8 bytes, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_clients(entries: list[str], setting: str) -> dict[str, str]:
    """``{client_id: sha256 hex}`` of ``client_id:sha256-hex`` entries; ``ValueError`` naming ``setting``
    for the first malformed one (the secret's hash is never echoed)."""
    found: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        client_id, sep, digest = entry.strip().partition(":")
        if not sep or not _CLIENT_ID.fullmatch(client_id) or not _SHA256_HEX.fullmatch(digest.strip()):
            raise ValueError(
                f"{setting}: entry {number} is not client_id:sha256-hex-of-secret (an id of letters, digits "
                "and ._~- and 64 hex digits, e.g. made with `printf %s SECRET | sha256sum`)"
            )
        if client_id in found:
            raise ValueError(f"{setting}: client {client_id!r} is listed twice")
        found[client_id] = digest.strip().lower()
    return found


def parse_clients_text(value: str, setting: str = CLIENTS_SETTING) -> dict[str, str]:
    """The comma-separated form of ``AUTHSPEC_INTROSPECTION_CLIENTS``."""
    return parse_clients([part for part in value.split(",") if part.strip()], setting)


def read_clients_file(path: Path, setting: str = CLIENTS_FILE_SETTING) -> dict[str, str]:
    """The one-pair-a-line form of ``AUTHSPEC_INTROSPECTION_CLIENTS_FILE``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"{setting}: {path} cannot be read ({reason})") from None
    lines = [line for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]
    return parse_clients(lines, setting)


def _refused() -> Unauthorized:
    return Unauthorized("The client credentials are missing or not valid", code="invalid_client")


class ResourceClients:
    """The configured resource servers, by client id, with their secrets' hashes."""

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self.hashes = dict(hashes)

    def __bool__(self) -> bool:
        return bool(self.hashes)

    @classmethod
    def merged(cls, *parts: Mapping[str, str]) -> ResourceClients:
        hashes: dict[str, str] = {}
        for part in parts:
            hashes.update(part)
        return cls(hashes)

    @classmethod
    def development(cls) -> ResourceClients:
        """The mock's default: the documented development client only."""
        return cls({DEV_CLIENT_ID: secret_hash(DEV_CLIENT_SECRET)})

    def authenticate(self, authorization: str | None) -> str:
        """The client id of a valid ``Authorization: Basic`` value; 401 ``invalid_client`` otherwise
        (the same error whatever is wrong, and whatever else the request holds)."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        if scheme.lower() != "basic":
            raise _refused()
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise _refused() from None
        client_id, sep, secret = decoded.partition(":")
        # RFC 6749 2.3.1: OAuth clients (Spring Security, openid-client, mod_auth_openidc) form-encode
        # the id and the secret before Basic; curl -u and httpx do not. An id of ._~- letters and
        # digits decodes to itself; the secret is tried as sent and decoded, both always compared.
        client_id = unquote_plus(client_id)
        expected = self.hashes.get(client_id, _STAND_IN).encode()
        tried = [hmac.compare_digest(expected, secret_hash(s).encode()) for s in (secret, unquote_plus(secret))]
        if not sep or not any(tried) or client_id not in self.hashes:
            raise _refused()
        return client_id
