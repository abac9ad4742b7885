"""The per-account lockout (issue 13): voided codes lock the email, longer with each further one,
so a patient attacker gets a bounded number of guesses per day; known and unknown emails get the
same answers. On SQLite and PostgreSQL on the test clock, and with the Redis limiter (its own
clock) for the lock itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from authspec.settings import Settings
from tests.helpers import assert_error
from tests.service.conftest import REDIS_URL
from tests.service.support import Api, data

DAY = 86_400


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def guesses_per_day(s: Settings) -> int:
    """The most codes an attacker can have compared in a day, from the settings: each code takes
    ``code_max_attempts`` guesses and voids; the next one comes after the cooldown or the lock."""
    elapsed, codes = 0, 0
    while elapsed < DAY:
        codes += 1
        lock = 0
        if codes >= s.code_lockout_after:
            lock = min(s.code_lockout_seconds * 2 ** (codes - s.code_lockout_after), s.code_lockout_max)
        elapsed += max(s.code_resend_after, lock)
    return codes * s.code_max_attempts


def count_comparisons(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    codes = api.services.auth.secrets.codes
    compared = [0]
    original = codes.matches

    def matches(*args: Any) -> bool:
        compared[0] += 1
        return bool(original(*args))

    monkeypatch.setattr(codes, "matches", matches)
    return compared


def test_a_patient_attacker_gets_at_most_the_bound_of_guesses_per_day(
    make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = make_api(code_mailbox_hourly=Settings().code_mailbox_hourly)  # the shipped limits, all of them
    email = "ada@example.com"
    api.login(email)
    api.clock.advance(api.settings.code_resend_after)
    compared = count_comparisons(api, monkeypatch)
    start = api.clock.now()
    mails_before, refused = len(api.mailer.outbox), 0
    while (api.clock.now() - start).total_seconds() < DAY:  # as fast as the service allows, all day
        asked = api.post("/auth/email/request-code", {"email": email})
        if asked.status_code == 429:
            assert_error(asked, 429, "rate_limited")
            api.clock.advance(int(asked.headers["Retry-After"]))
            continue
        guess = wrong(api.mailer.last_code(email))
        while (answer := api.verify(email, guess)).status_code == 401:
            pass
        assert answer.status_code == 429
        refused += assert_error(answer, 429, answer.json()["errorCode"])["errorCode"] == "rate_limited"
    expected = guesses_per_day(api.settings)
    assert expected == 45  # 9 codes of 5 guesses with the shipped settings (7,200 without the lockout)
    assert compared[0] == expected
    assert len(api.mailer.outbox) - mails_before == expected // api.settings.code_max_attempts
    assert refused == 0  # each code's guesses end with its own too_many_attempts


def test_a_locked_email_refuses_requests_and_verifies_then_reopens(make_api: Callable[..., Api]) -> None:
    api = make_api()
    email = "ada@example.com"
    for _ in range(api.settings.code_lockout_after):
        guess = wrong(api.request_code(email))
        for _ in range(api.settings.code_max_attempts):
            last = api.verify(email, guess)
        assert_error(last, 429, "too_many_attempts")
    locked = api.post("/auth/email/request-code", {"email": email})
    assert_error(locked, 429, "rate_limited")
    assert locked.headers["Retry-After"] == str(api.settings.code_lockout_seconds)
    verify = api.verify(email, "123456")
    assert_error(verify, 429, "rate_limited")
    assert verify.headers["Retry-After"] == str(api.settings.code_lockout_seconds)
    api.clock.advance(api.settings.code_lockout_seconds - 1)
    assert api.post("/auth/email/request-code", {"email": email}).headers["Retry-After"] == "1"
    api.clock.advance(1)
    assert data(api.verify(email, api.request_code(email)))["status"] == "registration_required"
    other = "grace@example.com"  # another email is not locked
    assert data(api.verify(other, api.request_code(other)))["status"] == "registration_required"


def comparable(response: httpx.Response) -> tuple[int, str, list[tuple[str, str]]]:
    body = response.json()
    body.pop("timestamp")
    skip = ("date", "content-length", "x-request-id")  # differ per request
    return response.status_code, repr(body), sorted((k, v) for k, v in response.headers.items() if k not in skip)


def test_known_and_unknown_emails_get_identical_answers(make_api: Callable[..., Api]) -> None:
    api = make_api()
    known, unknown = "ada@example.com", "nobody@example.com"
    api.login(known)
    api.clock.advance(api.settings.code_resend_after)
    answers: dict[str, list[tuple[int, str, list[tuple[str, str]]]]] = {known: [], unknown: []}
    for _ in range(api.settings.code_lockout_after + 1):
        for email in (known, unknown):
            asked = api.post("/auth/email/request-code", {"email": email})
            answers[email].append(comparable(asked))
            guess = wrong(api.mailer.last_code(email)) if asked.status_code == 200 else "123456"
            for _ in range(api.settings.code_max_attempts + 1):
                answers[email].append(comparable(api.verify(email, guess)))
        api.clock.advance(api.settings.code_resend_after)
    assert answers[known] == answers[unknown]
    assert answers[known][-1][0] == 429 and "'rate_limited'" in answers[known][-1][1]  # locked by then


def test_zero_turns_the_lockout_off(make_api: Callable[..., Api]) -> None:
    api = make_api(code_lockout_after=0)
    email = "ada@example.com"
    for _ in range(10):
        guess = wrong(api.request_code(email))
        for _ in range(api.settings.code_max_attempts):
            api.verify(email, guess)
    assert data(api.verify(email, api.request_code(email)))["status"] == "registration_required"


@pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set")
def test_the_lock_holds_in_redis(make_api: Callable[..., Api]) -> None:
    api = make_api(redis_url=REDIS_URL, code_resend_after=0)
    email = f"eve{uuid.uuid4().hex[:12]}@example.com"  # Redis keys outlive the test's database
    for _ in range(api.settings.code_lockout_after):
        guess = wrong(api.request_code(email))
        for _ in range(api.settings.code_max_attempts):
            api.verify(email, guess)
    locked = api.post("/auth/email/request-code", {"email": email})
    assert_error(locked, 429, "rate_limited")
    assert api.settings.code_lockout_seconds - 2 <= int(locked.headers["Retry-After"]) <= 900
    assert_error(api.verify(email, "123456"), 429, "rate_limited")
