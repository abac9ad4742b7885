"""``GET /metrics`` (issue 13): after the acceptance flow a scrape shows exactly the counts that flow
produced (the difference of two scrapes), no label value is anything but a fixed word, an
operationId or a status, ``AUTHSPEC_METRICS=false`` answers 404, the signing key's age follows the
clock, and an unavailable Redis is counted as a storage error."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from authspec.spec import API_SPEC, iter_operations, load_bundle
from tests.helpers import assert_error
from tests.service.conftest import REDIS_URL
from tests.service.support import Api, data

Sample = tuple[str, tuple[tuple[str, str], ...]]

#: Every label value a scrape may show, by label name (``operation``: the contract's operationIds).
ALLOWED = {
    "outcome": {
        "success", "registration_required", "registered", "wrong_code", "invalid_code", "too_many_attempts",
        "rotated", "grace_replay", "reused_revoked", "invalid",
    },
    "scope": {"all", "current", "others", "session", "refresh_token"},
    "limit": {"code-ip", "code-email", "code-mailbox-hour", "code-lock", "verify-ip"},
    "backend": {"database", "redis"},
}  # fmt: skip


def scrape(api: Api) -> Counter[Sample]:
    """Every sample of ``/metrics`` except the scrape's own and the latency buckets, by name and labels."""
    answer = api.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found: Counter[Sample] = Counter()
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.labels.get("operation") == "getMetrics" or sample.name.endswith(("_created", "_bucket")):
                continue
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: Counter[Sample], after: Counter[Sample]) -> dict[Sample, float]:
    """The samples that changed, by how much (durations' sums left out: they are timing)."""
    keys = set(before) | set(after)
    changed = {k: after[k] - before[k] for k in keys if after[k] != before[k]}
    return {k: v for k, v in changed.items() if not k[0].endswith("_sum")}


def requests(*counted: tuple[str, int, int]) -> dict[Sample, float]:
    """The request counter and histogram count samples of ``(operation, status, times)``."""
    expected: dict[Sample, float] = {}
    by_operation: Counter[str] = Counter()
    for operation, status, times in counted:
        expected[("authspec_requests_total", (("operation", operation), ("status", str(status))))] = times
        by_operation[operation] += times
    for operation, times in by_operation.items():
        expected[("authspec_request_duration_seconds_count", (("operation", operation),))] = times
    return expected


def one(name: str, **labels: str) -> Sample:
    return (name, tuple(sorted(labels.items())))


def test_a_scrape_after_the_acceptance_flow_shows_exactly_its_counts(api: Api) -> None:
    email = f"flow-{uuid.uuid4().hex[:8]}@example.com"
    before = scrape(api)

    code = api.request_code(email)
    assert_error(api.verify(email, "000000" if code != "000000" else "111111"), 401, "invalid_code")
    registration = data(api.verify(email, code))["registrationToken"]
    body = {"registrationToken": registration, "firstName": "Ada", "lastName": "Lovelace"}
    first = data(api.post("/auth/register", body), 201)["tokens"]
    rotated = data(api.refresh(first["refreshToken"]))
    assert data(api.refresh(first["refreshToken"])) == rotated  # inside the grace window: the same pair
    api.clock.advance(api.settings.refresh_grace + 1)
    assert_error(api.refresh(first["refreshToken"]), 401, "refresh_token_reused")
    second = api.login(email)  # a new code, verified: an existing user's login
    third = api.login(email)
    sessions = api.sessions(third)
    other = next(s["id"] for s in sessions if not s["current"])
    data(api.post(f"/sessions/{other}/revoke", token=third.access))
    data(api.post("/auth/logout", {"scope": "current"}, token=third.access))
    assert_error(api.post("/auth/email/request-code", {"email": email}), 429, "rate_limited")
    assert api.client.get("/no/such/path").status_code == 404
    assert second.user["email"] == email

    expected = {
        **requests(
            ("requestEmailCode", 200, 3),
            ("requestEmailCode", 429, 1),
            ("verifyEmailCode", 401, 1),
            ("verifyEmailCode", 200, 3),
            ("completeRegistration", 201, 1),
            ("refreshToken", 200, 2),
            ("refreshToken", 401, 1),
            ("listSessions", 200, 1),
            ("revokeSession", 200, 1),
            ("logout", 200, 1),
            ("unmatched", 404, 1),
        ),
        one("authspec_codes_sent_total"): 3,
        one("authspec_logins_total", outcome="wrong_code"): 1,
        one("authspec_logins_total", outcome="registration_required"): 1,
        one("authspec_logins_total", outcome="registered"): 1,
        one("authspec_logins_total", outcome="success"): 2,
        one("authspec_refreshes_total", outcome="rotated"): 1,
        one("authspec_refreshes_total", outcome="grace_replay"): 1,
        one("authspec_refreshes_total", outcome="reused_revoked"): 1,
        one("authspec_revocations_total", scope="session"): 1,
        one("authspec_revocations_total", scope="current"): 1,
        one("authspec_rate_limited_total", limit="code-email"): 1,
    }
    assert delta(before, scrape(api)) == expected


def test_no_label_of_a_scrape_carries_a_user_id_email_ip_or_token(api: Api) -> None:
    email = f"labels-{uuid.uuid4().hex[:8]}@example.com"
    login = api.login(email)
    data(api.refresh(login.refresh))
    data(api.post("/auth/logout", {"scope": "all"}, token=login.access))
    operations = {op["operationId"] for _p, _m, op in iter_operations(load_bundle(API_SPEC))} | {"unmatched"}
    text = api.client.get("/metrics").text

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name, value in sample.labels.items():
                if name == "operation":
                    assert value in operations, (sample.name, name, value)
                elif name == "status":
                    assert value.isdigit() and len(value) == 3, (sample.name, value)
                elif name == "le":
                    assert value == "+Inf" or float(value) >= 0, (sample.name, value)
                else:
                    assert value in ALLOWED[name], (sample.name, name, value)
    for secret in (email, login.user["id"], login.access, login.refresh, "203.0.113.7"):
        assert secret not in text


def test_metrics_false_answers_404_and_counts_nothing(make_api: Callable[..., Api]) -> None:
    api = make_api(metrics=False)
    assert_error(api.client.get("/metrics"), 404, "not_found")
    assert api.app.authspec.extras["metrics"] is None


def test_the_signing_key_age_follows_the_clock(api: Api) -> None:
    def age() -> float:
        return scrape(api)[one("authspec_signing_key_age_seconds")]

    from authspec.handlers.app import reload_keys

    from authspec.keys import Keyring

    reload_keys(api.services, Keyring.generate(api.clock.now()))  # a key whose schedule is on the test clock
    assert age() == pytest.approx(0)
    api.clock.advance(100)
    assert age() == pytest.approx(100)


@pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set: no Redis to use")
def test_an_unavailable_redis_is_counted_as_a_storage_error(make_api: Callable[..., Api]) -> None:
    from tests.service.test_outages import proxy_to

    assert REDIS_URL
    proxy, url = proxy_to(REDIS_URL, 6379)
    try:
        api = make_api(redis_url=url, redis_timeout=2.0)
        before = scrape(api)
        proxy.refuse()
        body = {"email": f"outage-{uuid.uuid4().hex[:8]}@example.com"}
        assert_error(api.post("/auth/email/request-code", body), 503, "service_unavailable")
        changed = delta(before, scrape(api))
        assert changed[one("authspec_storage_errors_total", backend="redis")] == 1
        assert one("authspec_storage_errors_total", backend="database") not in changed
    finally:
        proxy.stop()
