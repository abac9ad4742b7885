"""The ``auth`` tag over HTTP: requestEmailCode, verifyEmailCode, completeRegistration, getCurrentUser."""

from __future__ import annotations

import re

import pytest

from authspec.storage.tables import email_codes, registration_tokens
from tests.helpers import assert_error
from tests.service.support import Api, bearer, data

EMAIL = "ada@example.com"


# -- requestEmailCode ------------------------------------------------------------------------------


def test_request_code_sends_a_six_digit_code_stored_only_as_a_keyed_hash(api: Api) -> None:
    assert data(api.post("/auth/email/request-code", {"email": "Ada@Example.com"})) == {
        "expiresIn": 300,
        "resendAfter": 60,
    }
    [message] = api.mailer.outbox
    assert message.to == EMAIL
    assert re.fullmatch(r"[0-9]{6}", message.code)
    assert message.code in message.body.splitlines()
    [row] = api.rows(email_codes)
    assert message.code not in str(row.values())
    assert len(str(row["code_hash"])) == 64


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email"}, {"email": EMAIL, "extra": 1}, {"email": 5}],
    ids=["missing", "malformed", "extra-field", "wrong-type"],
)
def test_request_code_rejects_bad_bodies(api: Api, body: dict[str, object]) -> None:
    assert_error(api.post("/auth/email/request-code", body), 400, "validation_failed")
    assert api.mailer.outbox == []


def test_request_code_cooldown_per_email(api: Api) -> None:
    api.request_code(EMAIL)
    api.clock.advance(59)
    response = api.post("/auth/email/request-code", {"email": EMAIL})
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "1"
    data(api.post("/auth/email/request-code", {"email": "grace@example.com"}))  # another email is not held
    api.clock.advance(1)
    data(api.post("/auth/email/request-code", {"email": EMAIL}))


def test_request_code_limit_per_ip(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(code_ip_limit=3, code_ip_window=300)
    for n in range(3):
        data(api.post("/auth/email/request-code", {"email": f"u{n}@example.com"}))
    response = api.post("/auth/email/request-code", {"email": "u9@example.com"})
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "300"
    other_ip = make_api(client=("198.51.100.23", 1234), code_ip_limit=3)
    data(other_ip.post("/auth/email/request-code", {"email": "u9@example.com"}))
    api.clock.advance(300)
    data(api.post("/auth/email/request-code", {"email": "u10@example.com"}))


def test_known_and_unknown_emails_get_the_same_answer(api: Api) -> None:
    api.login(EMAIL)
    api.clock.advance(60)

    def ask(email: str) -> tuple[int, dict[str, object], dict[str, str]]:
        response = api.post("/auth/email/request-code", {"email": email})
        body = response.json()
        body.pop("timestamp")
        # Date and X-Request-ID differ per request, not per email.
        unique = ("date", "content-length", "x-request-id")
        headers = {k: v for k, v in response.headers.items() if k.lower() not in unique}
        return response.status_code, body, headers

    known, unknown = [], []
    for n in range(8):
        known.append(ask(EMAIL))
        unknown.append(ask(f"nobody{n}@example.com"))
        api.clock.advance(60)
    assert {(k[0], repr(k[1]), repr(k[2])) for k in known} == {(u[0], repr(u[1]), repr(u[2])) for u in unknown}
    assert len(api.mailer.outbox) == 1 + 16  # both kinds of address get a code


# -- verifyEmailCode --------------------------------------------------------------------------------


def test_verify_for_a_new_email_requires_registration(api: Api) -> None:
    result = data(api.verify(EMAIL, api.request_code(EMAIL)))
    assert result["status"] == "registration_required"
    assert result["expiresIn"] == 900
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", result["registrationToken"])
    [row] = api.rows(registration_tokens)
    assert result["registrationToken"] not in str(row.values())


def test_verify_for_a_known_email_logs_in(api: Api) -> None:
    first = api.login(EMAIL)
    result = data(api.verify(EMAIL, api.request_code(EMAIL), deviceName="Laptop"))
    assert result["status"] == "authenticated"
    assert result["user"] == first.user
    tokens = result["tokens"]
    assert tokens["tokenType"] == "Bearer" and tokens["expiresIn"] == 3600 and tokens["refreshExpiresIn"] == 2592000
    assert len(api.sessions(tokens["accessToken"])) == 2


@pytest.mark.parametrize(
    "body",
    [{"email": EMAIL}, {"email": EMAIL, "code": "12345"}, {"email": EMAIL, "code": "12345a"}, {"code": "123456"}],
    ids=["no-code", "short", "not-digits", "no-email"],
)
def test_verify_rejects_bad_bodies(api: Api, body: dict[str, object]) -> None:
    assert_error(api.post("/auth/email/verify", body), 400, "validation_failed")


def test_verify_refuses_a_wrong_code_without_a_code_or_after_use(api: Api) -> None:
    response = api.verify(EMAIL, "000000")
    assert_error(response, 401, "invalid_code")
    assert "WWW-Authenticate" not in response.headers  # verify has no bearer security: no challenge
    code = api.request_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert_error(api.verify(EMAIL, wrong), 401, "invalid_code")
    data(api.verify(EMAIL, code))
    assert_error(api.verify(EMAIL, code), 401, "invalid_code")  # single use


def test_code_expires_after_its_lifetime(api: Api) -> None:
    code = api.request_code(EMAIL)
    api.clock.advance(301)
    assert_error(api.verify(EMAIL, code), 401, "invalid_code")


def test_code_works_until_its_lifetime(api: Api) -> None:
    code = api.request_code(EMAIL)
    api.clock.advance(299)
    data(api.verify(EMAIL, code))


def test_only_the_latest_code_works(api: Api) -> None:
    old = api.request_code(EMAIL)
    new = api.request_code(EMAIL)  # after the cooldown
    if old != new:
        assert_error(api.verify(EMAIL, old), 401, "invalid_code")
    data(api.verify(EMAIL, new))


def test_five_wrong_codes_void_the_code(api: Api) -> None:
    code = api.request_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert_error(api.verify(EMAIL, wrong), 401, "invalid_code")
    response = api.verify(EMAIL, wrong)
    assert_error(response, 429, "too_many_attempts")
    assert int(response.headers["Retry-After"]) >= 1
    assert_error(api.verify(EMAIL, code), 429, "too_many_attempts")  # the right code is void too
    data(api.verify(EMAIL, api.request_code(EMAIL)))  # a new code starts over


def test_a_resend_does_not_reset_the_attempt_counter(api: Api) -> None:
    first = api.request_code(EMAIL)
    wrong = f"{(int(first) + 1) % 1_000_000:06d}"
    for _ in range(3):
        assert_error(api.verify(EMAIL, wrong), 401, "invalid_code")
    second = api.request_code(EMAIL)
    wrong = f"{(int(second) + 1) % 1_000_000:06d}"
    assert_error(api.verify(EMAIL, wrong), 401, "invalid_code")
    assert_error(api.verify(EMAIL, wrong), 429, "too_many_attempts")
    assert_error(api.verify(EMAIL, second), 429, "too_many_attempts")


def test_verify_limit_per_ip(make_api) -> None:  # type: ignore[no-untyped-def]
    api = make_api(verify_ip_limit=3, verify_ip_window=120)
    for _ in range(3):
        assert_error(api.verify(EMAIL, "000000"), 401, "invalid_code")
    response = api.verify(EMAIL, "000000")
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"] == "120"


# -- completeRegistration ----------------------------------------------------------------------------


def test_register_creates_the_user_and_a_first_session(api: Api) -> None:
    token = api.registration_token(EMAIL)
    body = {"registrationToken": token, "firstName": "  Ada ", "lastName": "Lovelace", "deviceName": "Phone"}
    result = data(api.post("/auth/register", body, headers={"User-Agent": "MyApp/2.3"}), 201)
    user = result["user"]
    assert (user["email"], user["firstName"], user["lastName"]) == (EMAIL, "Ada", "Lovelace")
    assert user["createdAt"] == "2026-01-15T10:30:00.000Z"
    [session] = api.sessions(result["tokens"]["accessToken"])
    assert (session["deviceName"], session["userAgent"], session["ip"]) == ("Phone", "MyApp/2.3", "203.0.113.7")
    assert data(api.get("/auth/me", result["tokens"]["accessToken"])) == user


def test_registration_token_works_once(api: Api) -> None:
    token = api.registration_token(EMAIL)
    body = {"registrationToken": token, "firstName": "Ada", "lastName": "Lovelace"}
    data(api.post("/auth/register", body), 201)
    assert_error(api.post("/auth/register", body), 401, "invalid_registration_token")


def test_registration_token_expires(api: Api) -> None:
    token = api.registration_token(EMAIL)
    api.clock.advance(900)
    body = {"registrationToken": token, "firstName": "Ada", "lastName": "Lovelace"}
    assert_error(api.post("/auth/register", body), 401, "invalid_registration_token")


def test_register_with_an_unknown_token(api: Api) -> None:
    body = {"registrationToken": "A" * 43, "firstName": "Ada", "lastName": "Lovelace"}
    assert_error(api.post("/auth/register", body), 401, "invalid_registration_token")


def test_register_an_email_that_registered_meanwhile(api: Api) -> None:
    first = api.registration_token(EMAIL)
    second = api.registration_token(EMAIL)
    data(api.post("/auth/register", {"registrationToken": first, "firstName": "Ada", "lastName": "L"}), 201)
    response = api.post("/auth/register", {"registrationToken": second, "firstName": "Ada", "lastName": "L"})
    assert_error(response, 409, "already_registered")


@pytest.mark.parametrize(
    "change",
    [{"firstName": None}, {"firstName": "   "}, {"lastName": ""}, {"registrationToken": "short"}, {"admin": True}],
    ids=["missing-first-name", "blank-name", "empty-last-name", "short-token", "extra-field"],
)
def test_register_rejects_bad_bodies(api: Api, change: dict[str, object]) -> None:
    body: dict[str, object] = {"registrationToken": "A" * 43, "firstName": "Ada", "lastName": "Lovelace", **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.post("/auth/register", body), 400, "validation_failed")


def test_a_registration_token_grants_no_api_access(api: Api) -> None:
    token = api.registration_token(EMAIL)
    assert_error(api.get("/auth/me", token), 401, "invalid_token")
    assert_error(api.get("/auth/sessions", token), 401, "invalid_token")
    assert_error(api.refresh(token), 401, "invalid_refresh_token")


# -- getCurrentUser ----------------------------------------------------------------------------------


def test_me_returns_the_profile(api: Api) -> None:
    login = api.login(EMAIL)
    assert data(api.get("/auth/me", login.access)) == login.user


def test_me_needs_a_bearer_token(api: Api) -> None:
    response = api.get("/auth/me")
    assert_error(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api.client.get("/api/v1/auth/me", headers=bearer("garbage")), 401, "invalid_token")
