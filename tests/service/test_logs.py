"""Request ids, the JSON access log, formatter-level redaction and the security events of the real
service (``authspec.requestlog``, ``authspec.handlers.logs``), in process: each test captures the
lines the service's own formatter writes while the request runs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from authspec.handlers.logs import REDACTED, JsonFormatter, Redactor

from authspec.requestlog import redact_path, redact_query, request_id_of, ua_family
from authspec.services.secrets import email_hash
from tests.helpers import assert_error
from tests.service.support import Api, data

EMAIL = "ada.logs@example.com"
PROXY = ("10.0.0.2", 40000)
CLIENT = "198.51.100.9"


class Lines(logging.Handler):
    """The JSON lines ``JsonFormatter`` writes, formatted at emit time (inside the request)."""

    def __init__(self, key: bytes) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter(key))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [entry for entry in self.parsed() if entry.get("event") == name]


@pytest.fixture
def service(make_api: Callable[..., Api]) -> Api:
    return make_api(client=PROXY, trusted_proxies="10.0.0.0/8", code_max_attempts=2)


@pytest.fixture
def lines(service: Api) -> Iterator[Lines]:
    handler = Lines(service.services.auth.secrets.log_key)
    logger = logging.getLogger("authspec")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


FORWARDED = {"X-Forwarded-For": CLIENT}


# -- request ids ------------------------------------------------------------------------------------------


def test_a_well_formed_request_id_is_echoed_and_a_bad_one_replaced(service: Api) -> None:
    kept = service.get("/auth/me", headers={"X-Request-ID": "req-1.a:b_C"})
    assert kept.headers["x-request-id"] == "req-1.a:b_C"
    for bad in ("", "has space", "x." * 65, "semi;colon"):
        replaced = service.get("/auth/me", headers={"X-Request-ID": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), bad
    assert re.fullmatch(r"[0-9a-f]{32}", service.get("/auth/me").headers["x-request-id"])


def test_every_kind_of_answer_carries_the_request_id(make_api: Callable[..., Api]) -> None:
    api = make_api(cors_origins=["https://app.example"], max_body_bytes=200)
    rid = {"X-Request-ID": "rid-42"}
    answers = {
        "envelope 401": api.get("/auth/me", headers=rid),
        "envelope 400": api.post("/auth/email/request-code", {"email": 1}, headers=rid),
        "404": api.client.get("/nowhere", headers=rid),
        "405": api.client.delete("/api/v1/auth/me", headers=rid),
        "413": api.post("/auth/email/request-code", {"email": "a" * 500}, headers=rid),
        "200": api.client.get("/healthz", headers=rid),
        "preflight": api.client.options(
            "/api/v1/auth/me",
            headers={**rid, "Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
        ),
    }
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {
        "envelope 401": 401,
        "envelope 400": 400,
        "404": 404,
        "405": 405,
        "413": 413,
        "200": 200,
        "preflight": 204,
    }
    assert {name: r.headers.get("x-request-id") for name, r in answers.items()} == dict.fromkeys(answers, "rid-42")
    cross_origin = api.get("/auth/me", headers={"Origin": "https://app.example"})
    assert "X-Request-ID" in cross_origin.headers["access-control-expose-headers"].split(", ")  # a page can read it


def test_request_id_of_accepts_only_the_documented_alphabet() -> None:
    assert request_id_of("A-z0.9:_") == "A-z0.9:_"
    assert request_id_of("x." * 64) == "x." * 64
    assert request_id_of("x." * 64 + "x") != "x." * 64 + "x"
    assert request_id_of("é") != "é"
    assert request_id_of(None) != request_id_of(None)
    for credential in ("123456", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln", "a" * 43, "rid-" + "B" * 43):
        assert request_id_of(credential) != credential, credential
    assert request_id_of("1234567") == "1234567"


def test_a_code_in_the_path_is_masked_in_the_access_line() -> None:
    assert redact_path("/api/v1/auth/123456") == "/api/v1/auth/[redacted]"
    assert redact_path("/api/v1/sessions/123456/revoke") == "/api/v1/sessions/[redacted]/revoke"
    assert redact_path("/api/v1/auth/1234567") == "/api/v1/auth/1234567"


# -- the access log ---------------------------------------------------------------------------------------


def test_one_access_line_per_request_with_every_field(service: Api, lines: Lines) -> None:
    token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    response = service.get(
        f"/auth/sessions?access_token={token}&page=2",
        headers={**FORWARDED, "X-Request-ID": "access-1", "User-Agent": "curl/8.5.0", "Authorization": "Bearer x"},
    )
    assert response.status_code == 401
    access = lines.events("http.request")
    assert len(access) == 1
    entry = access[0]
    assert entry["logger"] == "authspec.access"
    assert {k: entry[k] for k in ("request_id", "method", "path", "query", "status", "error_code")} == {
        "request_id": "access-1",
        "method": "GET",
        "path": "/api/v1/auth/sessions",
        "query": "access_token=[redacted]&page=[redacted]",
        "status": 401,
        "error_code": "invalid_token",
    }
    assert entry["client_ip"] == CLIENT
    assert entry["ua_family"] == "curl"
    assert isinstance(entry["latency_ms"], float) and entry["latency_ms"] >= 0
    assert token not in "\n".join(lines.lines)


def test_a_success_has_no_error_code(service: Api, lines: Lines) -> None:
    service.client.get("/healthz")
    (entry,) = lines.events("http.request")
    assert (entry["status"], entry["error_code"], entry["query"]) == (200, None, None)


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "browser"),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.28.1", "python"),
        ("python-requests/2.32", "python"),
        ("node", "node"),
        ("undici", "node"),
        ("Go-http-client/1.1", "other"),
        (None, "other"),
    ],
)
def test_user_agent_families(agent: str | None, family: str) -> None:
    assert ua_family(agent) == family


def test_a_query_keeps_its_names_and_loses_its_values() -> None:
    assert redact_query("code=123456&email=a%40b.c&flag") == "code=[redacted]&email=[redacted]&flag=[redacted]"
    assert redact_query("") == ""


# -- redaction in the formatter ---------------------------------------------------------------------------


def _format(key: bytes | None = None, **fields: Any) -> str:
    record = logging.getLogger("authspec.some.child").makeRecord(
        "authspec.some.child", logging.INFO, __file__, 1, fields.pop("msg", "m"), fields.pop("args", ()), None
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return JsonFormatter(key).format(record)


def test_the_formatter_redacts_every_secret_shape_in_messages_and_fields() -> None:
    jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"
    opaque = "8kQ2vW0s1YQ8Cw8Yl3m3B0c9dI2q7p1X6s0tZ4uVh5E"
    line = _format(
        b"k" * 32,
        msg="got %s and %s; Authorization: Basic dXNlcjpwYXNz; body {'code': '123456'}",
        args=(jwt, opaque),
        nested={"refreshToken": opaque, "list": [jwt], "code": "654321"},
        detail="mail to ada@example.com failed",
    )
    for secret in (jwt, opaque, "dXNlcjpwYXNz", "123456", "654321", "ada@example.com"):
        assert secret not in line, secret
    assert f"email:{email_hash(b'k' * 32, 'ada@example.com')}" in line
    assert line.count(REDACTED) >= 6


def test_without_a_key_an_email_is_only_masked() -> None:
    assert Redactor().text("to ada@example.com") == "to [email]"


def test_redaction_covers_child_loggers_and_tracebacks() -> None:
    try:
        raise ValueError("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln")
    except ValueError:
        record = logging.getLogger("authspec.deep.child").makeRecord(
            "authspec.deep.child", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )
    line = JsonFormatter().format(record)
    assert "eyJhbGci" not in line and "ValueError" in line


# -- security events --------------------------------------------------------------------------------------


def _who(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return entry.get("client_ip"), entry.get("request_id"), entry.get("email_hash")


def test_code_events_carry_ip_request_id_and_a_keyed_email_hash(service: Api, lines: Lines) -> None:
    hashed = service.services.auth.secrets.email_hash(EMAIL)
    code = service.request_code(EMAIL, headers={**FORWARDED, "X-Request-ID": "send-1"})
    wrong = "000000" if code != "000000" else "111111"
    for n in (1, 2):
        service.verify(EMAIL, wrong, headers={**FORWARDED, "X-Request-ID": f"wrong-{n}"})
    assert_error(service.verify(EMAIL, code, headers={**FORWARDED, "X-Request-ID": "late"}), 429, "too_many_attempts")
    assert [_who(e) for e in lines.events("code.sent")] == [(CLIENT, "send-1", hashed)]
    assert [_who(e) for e in lines.events("code.wrong")] == [(CLIENT, "wrong-1", hashed), (CLIENT, "wrong-2", hashed)]
    assert [_who(e) for e in lines.events("code.voided")] == [(CLIENT, "wrong-2", hashed)]
    limited = lines.events("rate_limited")
    assert [(_who(e), e["limit"]) for e in limited] == [
        ((CLIENT, "wrong-2", hashed), "code-attempts"),
        ((CLIENT, "late", hashed), "code-attempts"),
    ]
    assert EMAIL not in "\n".join(lines.lines) and code not in "\n".join(lines.lines)


def test_a_cooldown_refusal_is_a_rate_limited_event(service: Api, lines: Lines) -> None:
    service.request_code(EMAIL, headers=FORWARDED)
    refused = service.post("/auth/email/request-code", {"email": EMAIL}, headers={**FORWARDED, "X-Request-ID": "r2"})
    assert refused.status_code == 429
    (event,) = lines.events("rate_limited")
    assert (_who(event), event["limit"]) == (
        (CLIENT, "r2", service.services.auth.secrets.email_hash(EMAIL)),
        "code-email",
    )


def test_login_reuse_and_revocation_events_name_user_ip_and_request(service: Api, lines: Lines) -> None:
    first = service.login(EMAIL, headers=FORWARDED)  # registers
    hashed = service.services.auth.secrets.email_hash(EMAIL)
    code = service.request_code(EMAIL, headers=FORWARDED)
    logged = data(service.verify(EMAIL, code, headers={**FORWARDED, "X-Request-ID": "login-1"}))
    (login,) = lines.events("login")
    assert (_who(login), login["user_id"]) == ((CLIENT, "login-1", hashed), first.user["id"])

    data(service.refresh(logged["tokens"]["refreshToken"]))
    service.clock.advance(service.settings.refresh_grace + 1)
    old = logged["tokens"]["refreshToken"]
    reused = service.post("/auth/refresh", {"refreshToken": old}, headers={**FORWARDED, "X-Request-ID": "reuse-1"})
    assert_error(reused, 401, "refresh_token_reused")
    (event,) = lines.events("refresh.reused")
    assert (_who(event), event["user_id"]) == ((CLIENT, "reuse-1", hashed), first.user["id"])

    listed = service.sessions(first)
    current = next(s for s in listed if s["current"])
    revoke = service.post(
        f"/sessions/{current['id']}/revoke", token=first.access, headers={**FORWARDED, "X-Request-ID": "rev-1"}
    )
    data(revoke)
    revoked = [e for e in lines.events("session.revoked") if e["request_id"] == "rev-1"]
    assert [(_who(e), e["user_id"], e["session_id"]) for e in revoked] == [
        ((CLIENT, "rev-1", hashed), first.user["id"], current["id"])
    ]


def test_a_refused_bearer_token_is_logged_at_info_with_its_error_code(service: Api, lines: Lines) -> None:
    login = service.login(EMAIL)
    data(service.post("/auth/logout", {"scope": "current"}, token=login.access))
    service.get("/auth/me", token=login.access, headers={"X-Request-ID": "b-1"})
    service.get("/auth/me", token="not-a-jwt", headers={"X-Request-ID": "b-2"})
    refused = [(e["level"], e["request_id"], e["error_code"]) for e in lines.events("bearer.refused")]
    assert refused == [("info", "b-1", "session_ended"), ("info", "b-2", "invalid_token")]


class _Refusing:
    async def send(self, message: Any) -> None:
        raise ConnectionRefusedError(f"550 mailbox {message.to} unavailable")


def test_a_mail_failure_logs_the_class_and_a_message_without_the_address(service: Api, lines: Lines) -> None:
    service.services.auth.mailer = _Refusing()
    refused = service.post("/auth/email/request-code", {"email": EMAIL}, headers={**FORWARDED, "X-Request-ID": "m-1"})
    assert refused.status_code == 503
    (failed,) = lines.events("mail.failed")
    hashed = service.services.auth.secrets.email_hash(EMAIL)
    assert (failed["error"], failed["request_id"], failed["email_hash"]) == ("ConnectionRefusedError", "m-1", hashed)
    assert failed["detail"] == f"550 mailbox email:{hashed} unavailable"
    assert EMAIL not in "\n".join(lines.lines)
