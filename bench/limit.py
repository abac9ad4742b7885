"""The Python limit reference: the benchmarked operations in bare ASGI, stdlib sqlite3, PyJWT and orjson.

No framework, no validation layer, no ORM: what one Python process on one core can do for the
same work as the service, on the service's own SQLite database (the file and schema the benchmark
seeds) and signing key. ``GET /auth/sessions`` and ``GET /auth/me`` verify the access token
(EdDSA, issuer, audience, ``typ``; signatures cached per token as the service does, expiry
checked on every request), check in the store that its session is active (not revoked, not
expired, not idle), read the list or the user and answer the envelope. ``POST /auth/refresh``
is one ``BEGIN IMMEDIATE`` transaction: read the token with its session, check both, mark the
token rotated, move the session's ``last_active_at`` and insert the successor (derived from the
token with an HMAC, like the service); then it signs a new access token. The grace window's
replay and reuse detection are not implemented (the benchmark never presents a token twice): a
rotated token is simply refused. Every statement runs synchronously on one connection, which a
single-threaded server may do: no two requests ever interleave inside a transaction.
Served by ``bench.factories:limit`` with the same uvicorn options as the service.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import orjson

from authspec.keys import Keyring
from authspec.settings import Settings
from authspec.storage.keyfile import load_keyring

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

API = "/api/v1"
STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a naive UTC datetime in SQLite
CACHE_SIZE = 4096
_JTI_NAMESPACE = uuid.UUID("5b0f3a5e-2d43-4c39-9a51-7d0f8c2e6a10")
_REQUIRED = ["sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ"]
_JSON = [(b"content-type", b"application/json")]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _stamp(moment: datetime) -> str:
    return moment.strftime(STORED)


def _iso(stored: str) -> str:
    """A stored instant as the contract's RFC 3339 text with milliseconds."""
    return f"{stored[:10]}T{stored[11:23]}Z"


def _sqlite_file(url: str) -> str:
    scheme, _, rest = url.partition(":///")
    if not scheme.startswith("sqlite") or not rest:
        raise SystemExit(f"AUTHSPEC_DATABASE_URL={url!r}: the limit reference runs on SQLite only")
    return rest


class Limit:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyring: Keyring = load_keyring(settings)
        self.db = sqlite3.connect(_sqlite_file(settings.database_url), isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            self.db.execute(f"PRAGMA {pragma}")
        self.successor_key = os.urandom(32)
        self.verified: dict[str, dict[str, Any]] = {}
        self.routes: dict[tuple[str, str], Callable[[Scope, Receive, datetime], Awaitable[Any]]] = {
            ("GET", f"{API}/auth/sessions"): self.sessions,
            ("GET", f"{API}/auth/me"): self.me,
            ("POST", f"{API}/auth/refresh"): self.refresh,
        }

    # -- ASGI --------------------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    self.db.close()
                    return
        now = datetime.now(UTC).replace(tzinfo=None)
        handler = self.routes.get((scope["method"], scope["path"]))
        body: dict[str, Any]
        try:
            if handler is None:
                raise Refused(404, "not_found", "Not found")
            status, data = 200, await handler(scope, receive, now)
        except Refused as exc:
            status, data = exc.status, None
            body = {"isSuccess": False, "statusCode": status, "data": None, "errors": [exc.message]}
            body |= {"errorCode": exc.code, "timestamp": _iso(_stamp(now))}
        else:
            body = {"isSuccess": True, "statusCode": 200, "data": data, "errors": [], "errorCode": None}
            body["timestamp"] = _iso(_stamp(now))
        payload = orjson.dumps(body)
        headers = [*_JSON, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # -- the bearer check ------------------------------------------------------------------------------
    def claims(self, scope: Scope, now: datetime) -> dict[str, Any]:
        token = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                token = token if scheme.lower() == "bearer" else ""
        if not token:
            raise Refused(401, "unauthorized", "No bearer token was sent")
        claims = self.verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self.verified) >= CACHE_SIZE:
                del self.verified[next(iter(self.verified))]
            self.verified[token] = claims
        if int(claims["exp"]) <= now.replace(tzinfo=UTC).timestamp():
            raise Refused(401, "token_expired", "The access token has expired")
        row = self.db.execute(
            "SELECT user_id, revoked_at, expires_at, last_active_at FROM sessions WHERE id = ?", (claims["sid"],)
        ).fetchone()
        if row is None or row[0] != claims["sub"] or not self._active(row[1], row[2], row[3], now):
            raise Refused(401, "session_ended", "The session of this token has ended")
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key = self.keyring.find(str(header.get("kid", "")))
            if key is None or header.get("alg") != "EdDSA" or header.get("typ") != "at+jwt":
                raise jwt.InvalidTokenError
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_key,
                algorithms=["EdDSA"],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": _REQUIRED, "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            raise Refused(401, "invalid_token", "The access token is not valid") from None
        if claims.get("typ") != "access":
            raise Refused(401, "invalid_token", "The access token is not valid")
        return claims

    def _active(self, revoked_at: str | None, expires_at: str, last_active_at: str, now: datetime) -> bool:
        if revoked_at is not None or expires_at <= _stamp(now):
            return False
        idle = self.settings.session_idle_ttl
        return idle <= 0 or last_active_at > _stamp(now - timedelta(seconds=idle))

    # -- the operations --------------------------------------------------------------------------------
    async def sessions(self, scope: Scope, receive: Receive, now: datetime) -> list[dict[str, Any]]:
        claims = self.claims(scope, now)
        rows = self.db.execute(
            "SELECT id, created_at, last_active_at, expires_at, ip, user_agent, device_name, revoked_at FROM sessions"
            " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id",
            (claims["sub"], _stamp(now)),
        ).fetchall()
        return [
            {
                "id": row[0],
                "createdAt": _iso(row[1]),
                "lastActiveAt": _iso(row[2]),
                "expiresAt": _iso(row[3]),
                "ip": row[4],
                "userAgent": row[5],
                "deviceName": row[6],
                "current": row[0] == claims["sid"],
            }
            for row in rows
            if self._active(row[7], row[3], row[2], now)
        ]

    async def me(self, scope: Scope, receive: Receive, now: datetime) -> dict[str, Any]:
        claims = self.claims(scope, now)
        row = self.db.execute(
            "SELECT id, email, first_name, last_name, created_at FROM users WHERE id = ?", (claims["sub"],)
        ).fetchone()
        if row is None:
            raise Refused(401, "session_ended", "The session of this token has ended")
        return {"id": row[0], "email": row[1], "firstName": row[2], "lastName": row[3], "createdAt": _iso(row[4])}

    async def refresh(self, scope: Scope, receive: Receive, now: datetime) -> dict[str, Any]:
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            token = orjson.loads(raw)["refreshToken"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Refused(400, "malformed_request", "The request body is not valid") from None
        if not isinstance(token, str) or not token:
            raise Refused(400, "malformed_request", "The request body is not valid")
        parent = hashlib.sha256(token.encode()).hexdigest()
        successor = base64.urlsafe_b64encode(hmac.new(self.successor_key, token.encode(), "sha256").digest())
        plain = successor.rstrip(b"=").decode()
        child = hashlib.sha256(plain.encode()).hexdigest()
        stamp = _stamp(now)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute(
                "SELECT t.session_id, t.user_id, t.expires_at, t.rotated_at, t.revoked_at,"
                " s.revoked_at, s.expires_at, s.last_active_at"
                " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.token_hash = ?",
                (parent,),
            ).fetchone()
            if (
                row is None
                or row[3] is not None
                or row[4] is not None
                or row[2] <= stamp
                or not self._active(row[5], row[6], row[7], now)
            ):
                raise Refused(401, "invalid_refresh_token", "The refresh token is invalid, expired or revoked")
            session_id, user_id, session_expires = row[0], row[1], row[6]
            expires = min(_stamp(now + timedelta(seconds=self.settings.refresh_ttl)), session_expires)
            db.execute(
                "UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE token_hash = ?",
                (stamp, child, parent),
            )
            db.execute("UPDATE sessions SET last_active_at = ? WHERE id = ?", (stamp, session_id))
            db.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, user_id, created_at, expires_at, parent_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (child, session_id, user_id, stamp, expires, parent),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self._pair(user_id, session_id, plain, child, now, session_expires, expires)

    def _pair(
        self, user_id: str, session_id: str, plain: str, child: str, now: datetime, session_end: str, refresh_end: str
    ) -> dict[str, Any]:
        moment = now.replace(tzinfo=UTC)
        ends = datetime.strptime(session_end, STORED).replace(tzinfo=UTC)
        iat = int(moment.timestamp())
        exp = min(iat + self.settings.access_ttl, int(ends.timestamp()))
        key = self.keyring.signing_key(moment)
        claims = {
            "sub": user_id,
            "sid": session_id,
            "jti": str(uuid.uuid5(_JTI_NAMESPACE, child)),
            "iat": iat,
            "exp": exp,
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "typ": "access",
        }
        access = jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid, "typ": "at+jwt"})
        refresh_left = datetime.strptime(refresh_end, STORED).replace(tzinfo=UTC) - moment
        return {
            "accessToken": access,
            "refreshToken": plain,
            "expiresIn": max(1, exp - iat),
            "refreshExpiresIn": max(1, int(refresh_left.total_seconds())),
            "tokenType": "Bearer",
        }


def create_app(settings: Settings | None = None) -> Limit:
    return Limit(settings or Settings())
