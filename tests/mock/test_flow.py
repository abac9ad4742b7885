"""The stateful scenario a frontend walks through, answered as the contract says.

login → list → refresh (grace window: the same pair) → reuse (the session ends) → revoke-token
→ revokeSession → logout, plus registration of a new email. Every response is also held to the
contract by the client fixture.
"""

from __future__ import annotations

import jwt
from starlette.testclient import TestClient

from tests.mock.flows import ADA, API, advance, bearer, login, request_code

GRACE = "ada@example.com"


def _sessions(client: TestClient, tokens: dict[str, str]) -> list[dict[str, object]]:
    listed = client.get(f"{API}/auth/sessions", headers=bearer(tokens))
    assert listed.status_code == 200, listed.text
    sessions: list[dict[str, object]] = listed.json()["data"]
    return sessions


def test_login_list_refresh_reuse_revoke_logout(client: TestClient) -> None:
    first = login(client, device="Laptop")
    assert first["user"]["email"] == ADA
    tokens = first["tokens"]
    assert tokens["tokenType"] == "Bearer" and tokens["expiresIn"] == 3600 and tokens["refreshExpiresIn"] == 2592000

    # The access token is a real JWT carrying the claims ARCHITECTURE.md names.
    claims = jwt.decode(tokens["accessToken"], options={"verify_signature": False})
    assert {"sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ"} <= claims.keys()
    assert claims["sub"] == first["user"]["id"]

    me = client.get(f"{API}/auth/me", headers=bearer(tokens))
    assert me.status_code == 200 and me.json()["data"]["email"] == ADA

    sessions = _sessions(client, tokens)
    assert [(s["id"], s["current"], s["deviceName"]) for s in sessions] == [(claims["sid"], True, "Laptop")]

    # A second device: two sessions, exactly one current, newest first.
    advance(client, 61)  # past the resend cooldown of the email
    second = login(client, device="Phone")
    sessions = _sessions(client, second["tokens"])
    assert [s["deviceName"] for s in sessions] == ["Phone", "Laptop"]
    assert [s["current"] for s in sessions] == [True, False]

    # Refresh rotates; the same old token inside the grace window gets the very same pair.
    rotated = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert rotated.status_code == 200, rotated.text
    pair = rotated.json()["data"]
    assert pair["refreshToken"] != tokens["refreshToken"]
    again = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert again.status_code == 200
    replay = again.json()["data"]
    assert (replay["accessToken"], replay["refreshToken"]) == (pair["accessToken"], pair["refreshToken"])
    assert client.get(f"{API}/auth/me", headers=bearer(pair)).status_code == 200

    # After the window, the rotated token is reuse: the whole session ends at once.
    advance(client, 11)
    reused = client.post(f"{API}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert reused.status_code == 401 and reused.json()["errorCode"] == "refresh_token_reused"
    ended = client.get(f"{API}/auth/me", headers=bearer(pair))
    assert ended.status_code == 401 and ended.json()["errorCode"] == "session_ended"
    successor = client.post(f"{API}/auth/refresh", json={"refreshToken": pair["refreshToken"]})
    assert successor.status_code == 401 and successor.json()["errorCode"] == "invalid_refresh_token"
    assert [s["deviceName"] for s in _sessions(client, second["tokens"])] == ["Phone"]

    # Revoking a refresh token ends its session; the second time it is a conflict.
    advance(client, 61)
    third = login(client, device="Tablet")["tokens"]
    revoked = client.post(
        f"{API}/auth/revoke-token", json={"refreshToken": third["refreshToken"]}, headers=bearer(second["tokens"])
    )
    assert revoked.status_code == 200, revoked.text
    assert (
        revoked.json()["data"]["sessionId"]
        == jwt.decode(third["accessToken"], options={"verify_signature": False})["sid"]
    )
    assert client.get(f"{API}/auth/me", headers=bearer(third)).json()["errorCode"] == "session_ended"
    twice = client.post(
        f"{API}/auth/revoke-token", json={"refreshToken": third["refreshToken"]}, headers=bearer(second["tokens"])
    )
    assert twice.status_code == 409 and twice.json()["errorCode"] == "refresh_token_already_revoked"

    # revokeSession, then logout of what is left.
    advance(client, 61)
    fourth = login(client, device="TV")["tokens"]
    target = next(s for s in _sessions(client, second["tokens"]) if s["deviceName"] == "TV")
    done = client.post(f"{API}/sessions/{target['id']}/revoke", headers=bearer(second["tokens"]))
    assert done.status_code == 200 and done.json()["data"]["id"] == target["id"]
    repeat = client.post(f"{API}/sessions/{target['id']}/revoke", headers=bearer(second["tokens"]))
    assert repeat.status_code == 409 and repeat.json()["errorCode"] == "session_already_revoked"
    assert client.get(f"{API}/auth/me", headers=bearer(fourth)).status_code == 401

    out = client.post(f"{API}/auth/logout", headers=bearer(second["tokens"]))
    assert out.status_code == 200 and out.json()["data"] == {"revokedSessions": 1}
    gone = client.get(f"{API}/auth/sessions", headers=bearer(second["tokens"]))
    assert gone.status_code == 401 and gone.json()["errorCode"] == "session_ended"
    refresh_after = client.post(f"{API}/auth/refresh", json={"refreshToken": second["tokens"]["refreshToken"]})
    assert refresh_after.status_code == 401


def test_registration_of_a_new_email(client: TestClient) -> None:
    email = "new.person@example.com"
    code = request_code(client, email)
    verified = client.post(f"{API}/auth/email/verify", json={"email": email, "code": code})
    assert verified.status_code == 200
    data = verified.json()["data"]
    assert data["status"] == "registration_required" and data["expiresIn"] == 900
    registration = {"registrationToken": data["registrationToken"], "firstName": "Nova", "lastName": "Person"}
    registered = client.post(f"{API}/auth/register", json=registration)
    assert registered.status_code == 201, registered.text
    user = registered.json()["data"]["user"]
    assert (user["email"], user["firstName"]) == (email, "Nova")
    me = client.get(f"{API}/auth/me", headers=bearer(registered.json()["data"]["tokens"]))
    assert me.json()["data"] == user

    # The registration token works once; the new user now logs in like any other.
    used = client.post(f"{API}/auth/register", json=registration)
    assert used.status_code == 401 and used.json()["errorCode"] == "invalid_registration_token"
    advance(client, 61)
    assert login(client, email)["user"]["id"] == user["id"]


def test_registering_an_email_twice_is_409(client: TestClient) -> None:
    email = "twice@example.com"
    tokens = []
    for _ in range(2):
        code = request_code(client, email)
        verified = client.post(f"{API}/auth/email/verify", json={"email": email, "code": code})
        tokens.append(verified.json()["data"]["registrationToken"])
        advance(client, 61)
    first = client.post(
        f"{API}/auth/register", json={"registrationToken": tokens[0], "firstName": "A", "lastName": "B"}
    )
    assert first.status_code == 201
    second = client.post(
        f"{API}/auth/register", json={"registrationToken": tokens[1], "firstName": "A", "lastName": "B"}
    )
    assert second.status_code == 409 and second.json()["errorCode"] == "already_registered"


def test_code_rules(client: TestClient) -> None:
    code = request_code(client, ADA)
    # Within the cooldown another code is refused with Retry-After.
    again = client.post(f"{API}/auth/email/request-code", json={"email": ADA})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
    # Unknown and known emails get the same answer.
    unknown = client.post(f"{API}/auth/email/request-code", json={"email": "nobody@example.com"})
    assert unknown.status_code == 200
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        miss = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": wrong})
        assert miss.status_code == 401 and miss.json()["errorCode"] == "invalid_code"
    fifth = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": wrong})
    assert fifth.status_code == 429 and fifth.json()["errorCode"] == "too_many_attempts"
    voided = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code})
    assert voided.status_code == 429
    # A new code after the cooldown works once.
    advance(client, 61)
    fresh = request_code(client, ADA)
    assert client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": fresh}).status_code == 200
    once = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": fresh})
    assert once.status_code == 401 and once.json()["errorCode"] == "invalid_code"


def test_revoke_token_of_another_user_or_unknown(client: TestClient) -> None:
    ada = login(client, ADA)["tokens"]
    grace = login(client, "grace@example.com")["tokens"]
    other = client.post(f"{API}/auth/revoke-token", json={"refreshToken": grace["refreshToken"]}, headers=bearer(ada))
    assert other.status_code == 403 and other.json()["errorCode"] == "forbidden"
    unknown = client.post(f"{API}/auth/revoke-token", json={"refreshToken": "A" * 43}, headers=bearer(ada))
    assert unknown.status_code == 404 and unknown.json()["errorCode"] == "refresh_token_not_found"
    # Grace's session is untouched.
    assert client.get(f"{API}/auth/me", headers=bearer(grace)).status_code == 200


def test_revoke_session_of_another_user_is_404(client: TestClient) -> None:
    ada = login(client, ADA)["tokens"]
    grace = login(client, "grace@example.com")["tokens"]
    grace_sid = jwt.decode(grace["accessToken"], options={"verify_signature": False})["sid"]
    other = client.post(f"{API}/sessions/{grace_sid}/revoke", headers=bearer(ada))
    assert other.status_code == 404 and other.json()["errorCode"] == "session_not_found"
    unknown = client.post(f"{API}/sessions/7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a6b/revoke", headers=bearer(ada))
    assert unknown.status_code == 404
    # Revoking the current session ends the caller's own token.
    own = jwt.decode(ada["accessToken"], options={"verify_signature": False})["sid"]
    assert client.post(f"{API}/sessions/{own}/revoke", headers=bearer(ada)).status_code == 200
    assert client.get(f"{API}/auth/me", headers=bearer(ada)).status_code == 401


def test_logout_scopes(client: TestClient) -> None:
    devices = []
    for device in ("one", "two", "three"):
        devices.append(login(client, ADA, device=device)["tokens"])
        advance(client, 61)
    one, two, three = devices
    bad = client.post(f"{API}/auth/logout", json={"scope": "everyone"}, headers=bearer(three))
    assert bad.status_code == 400 and "everyone" in " ".join(bad.json()["errors"])
    others = client.post(f"{API}/auth/logout", json={"scope": "others"}, headers=bearer(three))
    assert others.json()["data"] == {"revokedSessions": 2}
    assert client.get(f"{API}/auth/me", headers=bearer(one)).status_code == 401
    assert client.get(f"{API}/auth/me", headers=bearer(three)).status_code == 200
    current = client.post(f"{API}/auth/logout", json={"scope": "current"}, headers=bearer(three))
    assert current.json()["data"] == {"revokedSessions": 1}
    assert client.get(f"{API}/auth/me", headers=bearer(three)).status_code == 401
    assert client.get(f"{API}/auth/me", headers=bearer(two)).status_code == 401  # ended by "others"


def test_validation_is_the_real_one(client: TestClient) -> None:
    bad = client.post(f"{API}/auth/email/request-code", json={"email": "not-an-email"})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "validation_failed"
    assert any("not-an-email" in message for message in bad.json()["errors"][1:]), bad.json()
    extra = client.post(f"{API}/auth/refresh", json={"refreshToken": "A" * 43, "extra": True})
    assert extra.status_code == 400 and any("extra" in m for m in extra.json()["errors"])
    text = client.post(f"{API}/auth/refresh", content=b"x", headers={"content-type": "text/plain"})
    assert text.status_code == 415 and text.json()["errorCode"] == "unsupported_media_type"
    missing = client.get(f"{API}/auth/me")
    assert missing.status_code == 401 and missing.json()["errorCode"] == "authentication_required"
    forged = client.get(f"{API}/auth/me", headers={"Authorization": "Bearer " + "e30." * 2 + "sig"})
    assert forged.status_code == 401 and forged.json()["errorCode"] == "invalid_token"


def test_access_tokens_verify_against_the_served_jwks(client: TestClient) -> None:
    tokens = login(client)["tokens"]
    jwks = client.get("/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(tokens["accessToken"])
    assert header["typ"] == "at+jwt" and header["alg"] == "EdDSA"
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(
        tokens["accessToken"],
        jwt.PyJWK(key).key,
        algorithms=["EdDSA"],
        audience="authspec-api",
        issuer="authspec",
        options={"verify_exp": False, "verify_iat": False},  # the mock's clock, not the wall clock
    )
    assert claims["typ"] == "access" and claims["exp"] - claims["iat"] == 3600


def test_a_json_body_without_content_type_is_read(client: TestClient) -> None:
    """Connexion validates a body sent without Content-Type as JSON and hands over the raw bytes;
    the mock read them as "no body" (logout ended every session) or failed with 500 (found by the
    contract suite's differential run against the real service)."""
    first = login(client)
    advance(client, 61)
    second = login(client)
    ended = client.post(f"{API}/auth/logout", content=b'{"scope": "current"}', headers=bearer(second["tokens"]))
    assert ended.status_code == 200 and ended.json()["data"]["revokedSessions"] == 1
    assert client.get(f"{API}/auth/me", headers=bearer(first["tokens"])).status_code == 200

    raw = {"content": b'{"email": "new@example.com"}'}
    assert client.post(f"{API}/auth/email/request-code", **raw).status_code == 200
    token = {"content": b'{"refreshToken": "' + b"x" * 43 + b'"}'}
    assert client.post(f"{API}/auth/refresh", **token).json()["errorCode"] == "invalid_refresh_token"
    revoked = client.post(f"{API}/auth/revoke-token", headers=bearer(first["tokens"]), **token)
    assert revoked.json()["errorCode"] == "refresh_token_not_found"
    moved = client.post("/__mock/clock", content=b'{"advanceSeconds": 1}')
    assert moved.status_code == 200
