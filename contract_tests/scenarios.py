"""The scripted scenarios of the differential run (``differential.Pair``): each drives the real
app and the mock through one part of the contract, step by step.

Emails are the scenario's own (none of the mock's fixture users), so both apps start from the same
world: nobody is registered.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .differential import Answer, Pair, Side

API = "/api/v1"
JSON = {"Content-Type": "application/json"}


@dataclass
class Tokens:
    access: str
    refresh: str


def bearer(key: str) -> Callable[[Side], dict[str, str]]:
    return lambda side: {"Authorization": f"Bearer {side.vars[key].access}"}


def _tokens(answer: Answer) -> Tokens:
    data = answer.data
    pair = data["tokens"] if "tokens" in data else data
    return Tokens(pair["accessToken"], pair["refreshToken"])


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def login(p: Pair, email: str, key: str, *, device: str = "Differential") -> None:
    """Request a code, verify it and register when needed; remembers the token pair as ``key``."""
    p.step(f"{key}: request a code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    real, _ = p.step(
        f"{key}: verify",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email), "deviceName": device},
        expect=200,
    )
    if real.data["status"] == "registration_required":
        p.step(
            f"{key}: register",
            "POST",
            f"{API}/auth/register",
            json=lambda side: {
                "registrationToken": side.last.data["registrationToken"] if side.last else "",
                "firstName": "Lin",
                "lastName": "Chen",
                "deviceName": device,
            },
            expect=201,
        )
    p.remember(key, _tokens)


def me(p: Pair, key: str, expect: int) -> None:
    p.step(f"{key}: who am I", "GET", f"{API}/auth/me", headers=bearer(key), expect=expect)


# --- scenarios --------------------------------------------------------------------------------


def registration_and_login(p: Pair) -> None:
    email = "lin@example.com"
    p.step("request a code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    p.step("again at once: cooldown", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=429)
    p.step(
        "a wrong code",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": wrong(side.code_for(email))},
        expect=401,
    )
    p.step(
        "the right code: a new email",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email)},
        expect=200,
    )
    p.remember("registration", lambda a: a.data["registrationToken"])
    p.step(
        "the code again: used",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email)},
        expect=401,
    )
    register = {"firstName": "Lin", "lastName": "Chen", "deviceName": "Phone"}
    for label, field in (("a NUL in the first name", "firstName"), ("a NUL in the device name", "deviceName")):
        p.step(
            label,
            "POST",
            f"{API}/auth/register",
            json=lambda side, field=field: {
                "registrationToken": side.vars["registration"],
                **register,
                field: "Li\x00n",
            },
            expect=400,
        )
    p.step(
        "a blank first name",
        "POST",
        f"{API}/auth/register",
        json=lambda side: {"registrationToken": side.vars["registration"], **register, "firstName": "  "},
        expect=400,
    )
    p.step(
        "register",
        "POST",
        f"{API}/auth/register",
        json=lambda side: {"registrationToken": side.vars["registration"], **register},
        expect=201,
    )
    p.remember("lin", _tokens)
    p.step(
        "register again with the same token",
        "POST",
        f"{API}/auth/register",
        json=lambda side: {"registrationToken": side.vars["registration"], **register},
        expect=401,
    )
    me(p, "lin", 200)
    p.step("the session list", "GET", f"{API}/auth/sessions", headers=bearer("lin"), expect=200)
    p.advance(61)
    login(p, email, "lin2", device="Laptop")  # an existing user now: authenticated
    p.step("two sessions, one current", "GET", f"{API}/auth/sessions", headers=bearer("lin2"), expect=200)
    p.check(
        "exactly one session is current",
        lambda side: side.last is not None and [s["current"] for s in side.last.data].count(True) == 1,
    )


def already_registered(p: Pair) -> None:
    email = "twice@example.com"
    for n in (1, 2):
        p.step(f"code {n}", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
        p.step(
            f"verify {n}",
            "POST",
            f"{API}/auth/email/verify",
            json=lambda side: {"email": email, "code": side.code_for(email)},
            expect=200,
        )
        p.remember(f"registration{n}", lambda a: a.data["registrationToken"])
        p.advance(61)
    for n, status in ((1, 201), (2, 409)):
        p.step(
            f"register with token {n}",
            "POST",
            f"{API}/auth/register",
            json=lambda side, n=n: {
                "registrationToken": side.vars[f"registration{n}"],
                "firstName": "T",
                "lastName": "W",
            },
            expect=status,
        )


def refresh_rotation_and_reuse(p: Pair) -> None:
    login(p, "rotor@example.com", "first")
    p.step(
        "refresh",
        "POST",
        f"{API}/auth/refresh",
        json=lambda side: {"refreshToken": side.vars["first"].refresh},
        expect=200,
    )
    p.remember("second", _tokens)
    p.step(
        "the same token again, inside the grace window",
        "POST",
        f"{API}/auth/refresh",
        json=lambda side: {"refreshToken": side.vars["first"].refresh},
        expect=200,
    )
    p.check(
        "the grace window returns the same successor",
        lambda side: side.last is not None and side.last.data["refreshToken"] == side.vars["second"].refresh,
    )
    me(p, "second", 200)
    p.advance(11)
    p.step(
        "the rotated token after the window: reuse",
        "POST",
        f"{API}/auth/refresh",
        json=lambda side: {"refreshToken": side.vars["first"].refresh},
        expect=401,
    )
    me(p, "second", 401)
    p.step(
        "the newest token of the revoked session",
        "POST",
        f"{API}/auth/refresh",
        json=lambda side: {"refreshToken": side.vars["second"].refresh},
        expect=401,
    )


def revoke_refresh_token(p: Pair) -> None:
    login(p, "ann@example.com", "a1")
    p.advance(61)
    login(p, "ann@example.com", "a2")
    login(p, "bob@example.com", "b1")
    revoke = f"{API}/auth/revoke-token"
    p.step(
        "revoke another session's token",
        "POST",
        revoke,
        json=lambda side: {"refreshToken": side.vars["a2"].refresh},
        headers=bearer("a1"),
        expect=200,
    )
    p.step(
        "again: already revoked",
        "POST",
        revoke,
        json=lambda side: {"refreshToken": side.vars["a2"].refresh},
        headers=bearer("a1"),
        expect=409,
    )
    p.step("an unknown token", "POST", revoke, json={"refreshToken": "x" * 43}, headers=bearer("a1"), expect=404)
    p.step(
        "another user's token",
        "POST",
        revoke,
        json=lambda side: {"refreshToken": side.vars["b1"].refresh},
        headers=bearer("a1"),
        expect=403,
    )
    me(p, "a2", 401)
    me(p, "a1", 200)
    me(p, "b1", 200)


def logout_scopes(p: Pair) -> None:
    for n in (1, 2, 3):
        login(p, "cat@example.com", f"c{n}")
        p.advance(61)
    p.step("logout others", "POST", f"{API}/auth/logout", json={"scope": "others"}, headers=bearer("c1"), expect=200)
    for key, status in (("c1", 200), ("c2", 401), ("c3", 401)):
        me(p, key, status)
    for n in (4, 5):
        login(p, "cat@example.com", f"c{n}")
        p.advance(61)
    p.step(
        "logout current, the body sent without a Content-Type",
        "POST",
        f"{API}/auth/logout",
        data=b'{"scope": "current"}',
        headers=bearer("c5"),
    )
    me(p, "c4", 200)
    p.step("logout without a body: all", "POST", f"{API}/auth/logout", headers=bearer("c1"), expect=200)
    for key in ("c1", "c4"):
        me(p, key, 401)


def revoke_session(p: Pair) -> None:
    login(p, "dan@example.com", "d1")
    p.advance(61)
    login(p, "dan@example.com", "d2")
    login(p, "eve@example.com", "e1")
    p.step("dan's sessions", "GET", f"{API}/auth/sessions", headers=bearer("d1"), expect=200)
    p.remember("other", lambda a: next(s["id"] for s in a.data if not s["current"]))
    p.remember("own", lambda a: next(s["id"] for s in a.data if s["current"]))
    p.step("eve's sessions", "GET", f"{API}/auth/sessions", headers=bearer("e1"), expect=200)
    p.remember("eve", lambda a: a.data[0]["id"])

    def revoke(label: str, key: str, expect: int) -> None:
        # Each app's own session ids: the path is a function of the side.
        path = lambda side: f"{API}/sessions/{side.vars[key]}/revoke"  # noqa: E731
        p.step(label, "POST", path, headers=bearer("d1"), expect=expect)

    revoke("revoke the other session", "other", 200)
    revoke("again: already revoked", "other", 409)
    revoke("eve's session: not dan's", "eve", 404)
    p.step("an unknown id", "POST", f"{API}/sessions/{uuid.uuid4()}/revoke", headers=bearer("d1"), expect=404)
    p.step("not a uuid", "POST", f"{API}/sessions/not-a-uuid/revoke", headers=bearer("d1"), expect=400)
    me(p, "d2", 401)
    p.step("one session left", "GET", f"{API}/auth/sessions", headers=bearer("d1"), expect=200)
    revoke("revoke the current session", "own", 200)
    me(p, "d1", 401)
    me(p, "e1", 200)


def code_rules(p: Pair) -> None:
    email = "guess@example.com"
    p.step("request a code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    for n in range(1, 6):
        p.step(
            f"wrong code {n}",
            "POST",
            f"{API}/auth/email/verify",
            json=lambda side: {"email": email, "code": wrong(side.code_for(email))},
        )
    p.step(
        "the right code after five wrong ones: voided",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email)},
    )
    p.advance(61)
    p.step("a new code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    for side in p.sides:
        side.vars["first"] = side.code_for(email)
    p.advance(61)
    p.step("a newer code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    p.step(
        "the superseded code",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.vars["first"]},
        expect=401,
    )
    p.advance(301)
    p.step(
        "the newest code after its lifetime",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email)},
        expect=401,
    )
    p.step("a fresh code", "POST", f"{API}/auth/email/request-code", json={"email": email}, expect=200)
    p.step(
        "the fresh code",
        "POST",
        f"{API}/auth/email/verify",
        json=lambda side: {"email": email, "code": side.code_for(email)},
        expect=200,
    )


def token_expiry(p: Pair) -> None:
    login(p, "fay@example.com", "f")
    p.advance(3601)
    me(p, "f", 401)
    p.step(
        "refresh", "POST", f"{API}/auth/refresh", json=lambda side: {"refreshToken": side.vars["f"].refresh}, expect=200
    )
    p.remember("f2", _tokens)
    me(p, "f2", 200)


def token_lifetimes(p: Pair) -> None:
    """A fresh pair lives the configured lifetimes (3600 s access, 2592000 s refresh)."""
    login(p, "gil@example.com", "g")
    p.check(
        "a fresh pair says expiresIn 3600 and refreshExpiresIn 2592000",
        lambda side: (
            side.last is not None
            and side.last.data["tokens"]["expiresIn"] == 3600
            and side.last.data["tokens"]["refreshExpiresIn"] == 2592000
        ),
    )


def per_ip_limit(p: Pair) -> None:
    for n in range(1, 31):
        p.step(f"code {n}", "POST", f"{API}/auth/email/request-code", json={"email": f"ip{n}@example.com"}, expect=200)
    p.step(
        "one code too many from this IP",
        "POST",
        f"{API}/auth/email/request-code",
        json={"email": "ip31@example.com"},
        expect=429,
    )


def protocol_errors(p: Pair) -> None:
    code = f"{API}/auth/email/request-code"
    p.step("not JSON", "POST", code, data=b"{nope", headers=JSON, expect=400)
    p.step("not UTF-8", "POST", code, data=b'{"email": "\xff"}', headers=JSON, expect=400)
    p.step(
        "text/plain",
        "POST",
        code,
        data=b'{"email": "a@example.com"}',
        headers={"Content-Type": "text/plain"},
        expect=415,
    )
    p.step("an extra property", "POST", code, json={"email": "a@example.com", "admin": True}, expect=400)
    p.step("not an email", "POST", code, json={"email": "nope"}, expect=400)
    # Accepted before the Email pattern (Connexion's `format: email` wants only an "@"); a NUL even
    # answered 500 on PostgreSQL, which cannot store it.
    for label, email in (
        ("an invalid host name", "a@b.com*"),
        ("a NUL in the address", "a\x00@example.com"),
        ("a local part over 64 characters", "a" * 65 + "@example.com"),
        ("a space", "a b@example.com"),
    ):
        p.step(label, "POST", code, json={"email": email}, expect=400)
    p.step("an unknown query parameter", "POST", f"{code}?debug=1", json={"email": "q@example.com"}, expect=400)
    p.step("too large", "POST", code, data=b'{"email": "' + b"a" * 70_000 + b'"}', headers=JSON, expect=413)
    p.step("JSON without a Content-Type", "POST", code, data=b'{"email": "noct@example.com"}', expect=200)
    p.step("an unknown route", "GET", f"{API}/nowhere", expect=404)
    p.step("a wrong method", "GET", f"{API}/auth/refresh", expect=405)
    p.step("no bearer token", "GET", f"{API}/auth/me", expect=401)
    p.step("a garbage bearer token", "GET", f"{API}/auth/me", headers={"Authorization": "Bearer nonsense"}, expect=401)
    p.step(
        "a refresh token as the bearer",
        "GET",
        f"{API}/auth/sessions",
        headers={"Authorization": "Bearer " + "r" * 43},
        expect=401,
    )
    p.step("the JWK Set", "GET", "/.well-known/jwks.json", expect=200)


SCENARIOS: dict[str, Callable[[Pair], None]] = {
    "registration_and_login": registration_and_login,
    "already_registered": already_registered,
    "refresh_rotation_and_reuse": refresh_rotation_and_reuse,
    "revoke_refresh_token": revoke_refresh_token,
    "logout_scopes": logout_scopes,
    "revoke_session": revoke_session,
    "code_rules": code_rules,
    "token_expiry": token_expiry,
    "token_lifetimes": token_lifetimes,
    "per_ip_limit": per_ip_limit,
    "protocol_errors": protocol_errors,
}
