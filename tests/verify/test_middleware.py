"""``VerifyMiddleware`` on a Starlette app in front of the fake authspec: the 401 and 503 it answers
(authspec's envelope, ``WWW-Authenticate``), the claims at ``request.state.auth``, public paths, the
lifespan that starts and stops the verifier (and fails on wrong credentials), and the FastAPI
dependency's function."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authspec.verify import Claims, KeySet, Verifier, VerifyMiddleware, auth_dependency
from tests.helpers import assert_error
from tests.verify.fake import AUDIENCE, BASE, CLIENT_ID, CLIENT_SECRET, ISSUER, FakeAuthspec

pytestmark = pytest.mark.anyio


def make_verifier(fake: FakeAuthspec, **options: Any) -> Verifier:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "client_id": CLIENT_ID,
                                "client_secret": CLIENT_SECRET, "max_staleness": 2.0, "timeout": 0.5}  # fmt: skip
    settings.update(options)
    return Verifier(BASE, http=fake.client(), **settings)


async def orders(request: Request) -> JSONResponse:
    claims: Claims = request.state.auth
    return JSONResponse({"user": claims.sub, "session": claims.sid})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


def app_for(verifier: Verifier) -> Starlette:
    app = Starlette(routes=[Route("/orders", orders), Route("/healthz", health)])
    app.add_middleware(VerifyMiddleware, verifier=verifier, public_paths=["/healthz"])
    return app


async def test_a_valid_token_reaches_the_app_with_its_claims(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers={"Authorization": f"Bearer {fake.token(sid='s-9')}"})
        assert answer.status_code == 200 and answer.json() == {"user": "user-1", "session": "s-9"}
    await verifier.stop()


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc"])
async def test_a_missing_token_is_a_401_authentication_required(fake: FakeAuthspec, header: str | None) -> None:
    verifier = make_verifier(fake)
    headers = {"Authorization": header} if header else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers=headers)
    await verifier.stop()
    assert_error(answer, 401, "authentication_required")
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_an_invalid_token_is_a_401_invalid_token(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers={"Authorization": "Bearer not-a-jwt"})
    await verifier.stop()
    assert_error(answer, 401, "invalid_token")
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_an_expired_token_is_token_expired(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers={"Authorization": f"Bearer {fake.token(ttl=-60)}"})
    await verifier.stop()
    assert_error(answer, 401, "token_expired")


async def test_a_revoked_session_is_a_401_session_ended(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    fake.revoke("s-out")
    await verifier.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers={"Authorization": f"Bearer {fake.token(sid='s-out')}"})
    await verifier.stop()
    assert_error(answer, 401, "session_ended")
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_public_paths_need_no_token(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        assert (await http.get("/healthz")).status_code == 200
    await verifier.stop()


async def test_unknown_revocation_state_is_a_503_envelope(fake: FakeAuthspec) -> None:
    fake.down = True
    verifier = make_verifier(fake)
    verifier._keys = KeySet.from_jwks({"keys": [k.jwk() for k in fake.keys]})  # fetched before it went down
    verifier._keys_expire = float("inf")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app_for(verifier)), base_url="http://api") as http:
        answer = await http.get("/orders", headers={"Authorization": f"Bearer {fake.token()}"})
    await verifier.stop()
    assert_error(answer, 503, "service_unavailable")
    assert answer.headers["retry-after"] == "1"


async def lifespan(app: Any) -> list[dict[str, Any]]:
    """Run the ASGI lifespan protocol: startup then shutdown; the messages the app sent."""
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    return sent


async def test_the_lifespan_starts_and_stops_the_verifier(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    sent = await lifespan(app_for(verifier))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert fake.calls["jwks"] == 1 and fake.calls["feed"] >= 1
    assert verifier._feed is None


async def test_wrong_credentials_fail_the_startup_with_one_line(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake, client_secret="wrong")
    sent = await lifespan(app_for(verifier))
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "AUTHSPEC_INTROSPECTION_CLIENTS" in sent[0]["message"] and "wrong" not in sent[0]["message"]


async def test_the_dependency_returns_the_claims_or_raises_401(fake: FakeAuthspec) -> None:
    verifier = make_verifier(fake)
    dependency = auth_dependency(verifier)
    token = fake.token(sid="s-dep")
    scope = {"type": "http", "headers": [(b"authorization", f"Bearer {token}".encode())], "state": {}}
    assert (await dependency(Request(scope))).sid == "s-dep"
    with pytest.raises(HTTPException) as refused:
        await dependency(Request({"type": "http", "headers": [], "state": {}}))
    assert refused.value.status_code == 401
    await verifier.stop()
