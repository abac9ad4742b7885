"""A fake authspec for the verifier's unit tests: the JWKS, the revocation feed and introspection of
the interface (``/api/v1/auth/revocations``, ``/api/v1/auth/introspect``) over a few Ed25519 keys
and an in-memory list of ended sessions, with counters, served in-process through
``httpx.ASGITransport`` (``FakeAuthspec.client()``), which fails every request while ``down``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ISSUER, AUDIENCE = "authspec", "authspec-api"
CLIENT_ID, CLIENT_SECRET = "orders-api", "orders-secret"
BASE = "http://authspec.test"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Key:
    private: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    @property
    def x(self) -> str:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b64(raw)

    @property
    def kid(self) -> str:
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self.x}, separators=(",", ":"), sort_keys=True)
        return b64(hashlib.sha256(canonical.encode()).digest())

    def jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": "EdDSA", "use": "sig"}


class FakeAuthspec:
    def __init__(self) -> None:
        self.keys = [Key()]
        self.revoked: list[dict[str, Any]] = []
        self.down = False
        self.feed_broken = False  # the feed answers 500, introspection still works
        self.credentials = (CLIENT_ID, CLIENT_SECRET)
        self.calls: dict[str, int] = {"jwks": 0, "feed": 0, "introspect": 0}
        self.max_age = 300
        self._changed = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/.well-known/jwks.json", self.jwks),
                Route("/api/v1/auth/revocations", self.feed),
                Route("/api/v1/auth/introspect", self.introspect, methods=["POST"]),
            ]
        )

    # -- the test's side -----------------------------------------------------------------------

    #: ``sid=""`` (the default): a new session id; ``sid=None``: no ``sid`` claim.
    def token(
        self,
        *,
        sid: str | None = "",
        key: Key | None = None,
        ttl: int = 300,
        header_typ: str = "at+jwt",
        **changes: Any,
    ) -> str:
        now = int(time.time())
        claims = {"sub": "user-1", "sid": str(uuid.uuid4()) if sid == "" else sid, "jti": str(uuid.uuid4()), "iat": now,
                  "exp": now + ttl, "iss": ISSUER, "aud": AUDIENCE, "typ": "access"}  # fmt: skip
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.keys[0]
        headers = {"kid": signer.kid, "typ": header_typ}
        return jwt.encode(claims, signer.private, algorithm="EdDSA", headers=headers)

    def revoke(self, sid: str, exp: int | None = None) -> None:
        self.revoked.append({"sid": sid, "endedAt": "2026-12-08T10:00:00.000Z", "exp": exp or int(time.time()) + 300})
        self._changed.set()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=_Switchable(self))

    # -- the endpoints ------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == httpx.BasicAuth(*self.credentials)._auth_header

    @staticmethod
    def _envelope(data: Any, status: int = 200, code: str | None = None) -> JSONResponse:
        body = {"isSuccess": status < 400, "statusCode": status, "data": data, "errors": [] if status < 400 else ["x"],
                "errorCode": code, "timestamp": "2026-12-08T10:00:00.000Z"}  # fmt: skip
        return JSONResponse(body, status)

    async def jwks(self, request: Request) -> Response:
        self.calls["jwks"] += 1
        keys = {"keys": [key.jwk() for key in self.keys]}
        return JSONResponse(keys, headers={"Cache-Control": f"public, max-age={self.max_age}"})

    async def feed(self, request: Request) -> Response:
        self.calls["feed"] += 1
        if self.feed_broken:
            return self._envelope(None, 500, "internal_error")
        if not self._authorised(request):
            return self._envelope(None, 401, "invalid_client")
        after = int(request.query_params.get("after", "0"))
        wait = float(request.query_params.get("wait", "0"))
        deadline = time.monotonic() + wait
        while len(self.revoked) <= after and time.monotonic() < deadline:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        entries = self.revoked[after:]
        return self._envelope({"revocations": entries, "cursor": str(after + len(entries)), "hasMore": False})

    async def introspect(self, request: Request) -> Response:
        self.calls["introspect"] += 1
        if not self._authorised(request):
            return self._envelope(None, 401, "invalid_client")
        token = (await request.form()).get("token")
        try:
            claims = jwt.decode(str(token), options={"verify_signature": False})
        except jwt.PyJWTError:
            return self._envelope({"active": False})
        if any(entry["sid"] == claims["sid"] for entry in self.revoked):
            return self._envelope({"active": False})
        return self._envelope({"active": True, **claims, "tokenType": "access_token"})


class _Switchable(httpx.AsyncBaseTransport):
    """The fake app in-process; every request fails as an unreachable host would while ``down``."""

    def __init__(self, fake: FakeAuthspec) -> None:
        self.fake = fake
        self.inner = httpx.ASGITransport(app=fake.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.fake.down:
            raise httpx.ConnectError("down", request=request)
        answer = await self.inner.handle_async_request(request)
        if self.fake.down:  # went down while a long-poll waited
            raise httpx.ReadError("down", request=request)
        return answer
