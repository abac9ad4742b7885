"""The client IP behind proxies, through the real service: per-IP budgets, session ``ip`` and log lines
follow the forwarded client only when the peer is a trusted proxy (``AUTHSPEC_TRUSTED_PROXIES``).

In-process on SQLite (and PostgreSQL when its URL is set), with the limits in the database and, when
``AUTHSPEC_TEST_REDIS_URL`` is set, in Redis; and once through a real ``authspec serve`` on loopback.
Redis keeps its counters across runs and engineers, so every address here is drawn fresh per test.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from authspec.settings import Settings
from tests.helpers import ServerProcess, assert_error, authspec_cli, clean_env
from tests.service.conftest import REDIS_URL
from tests.service.support import Api, data

#: The per-IP budget of code requests the service ships with (30 per 5 minutes).
CODE_IP_LIMIT: int = Settings.model_fields["code_ip_limit"].default
PROXY = ("10.0.0.5", 4711)
TRUSTED = "10.0.0.0/8"


@pytest.fixture(
    params=[
        pytest.param("database", id="db-limits"),
        pytest.param(
            "redis",
            id="redis-limits",
            marks=pytest.mark.skipif(not REDIS_URL, reason="AUTHSPEC_TEST_REDIS_URL is not set: no Redis to use"),
        ),
    ]
)
def limits(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings that put the rate-limit counters in the database or in Redis."""
    return {"redis_url": REDIS_URL} if request.param == "redis" else {}


def fresh_ipv4s(count: int) -> list[str]:
    """``count`` distinct addresses of 198.18.0.0/15 (benchmarking, RFC 2544), new for every test."""
    start = random.randrange(2**17 - count)
    return [f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}" for n in range(start, start + count)]


def fresh_ipv6_prefix() -> str:
    """A /64 of 2001:db8::/32 (documentation) as ``2001:db8:X:Y``, new for every test."""
    return f"2001:db8:{random.randrange(1, 0xFFFF):x}:{random.randrange(1, 0xFFFF):x}"


def request_code(api: Api, client_ip: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    return api.post("/auth/email/request-code", {"email": f"{uuid.uuid4().hex}@example.com"}, headers=headers)


def test_clients_behind_a_trusted_proxy_each_get_their_own_budget(
    make_api: Callable[..., Api], limits: dict[str, Any]
) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED, code_ip_limit=CODE_IP_LIMIT, **limits)
    clients = fresh_ipv4s(CODE_IP_LIMIT + 2)
    assert [request_code(api, ip).status_code for ip in clients] == [200] * (CODE_IP_LIMIT + 2)
    greedy, patient = clients[0], clients[1]
    for _ in range(CODE_IP_LIMIT - 1):  # one request each is spent already
        data(request_code(api, greedy))
    assert_error(request_code(api, greedy), 429, "rate_limited")
    data(request_code(api, patient))


def test_the_same_headers_from_an_untrusted_peer_change_nothing(
    make_api: Callable[..., Api], limits: dict[str, Any]
) -> None:
    [peer] = fresh_ipv4s(1)
    api = make_api(client=(peer, 4711), trusted_proxies=TRUSTED, code_ip_limit=CODE_IP_LIMIT, **limits)
    statuses = [request_code(api, ip).status_code for ip in fresh_ipv4s(CODE_IP_LIMIT + 2)]
    assert statuses == [200] * CODE_IP_LIMIT + [429, 429]  # one shared budget: the peer's


def test_an_untrusted_peer_is_the_session_ip_whatever_it_forwards(make_api: Callable[..., Api]) -> None:
    api = make_api(client=("203.0.113.7", 4711), trusted_proxies=TRUSTED)
    login = api.login("ada@example.com", headers={"X-Forwarded-For": "198.51.100.4", "Forwarded": "for=1.1.1.1"})
    assert [s["ip"] for s in api.sessions(login)] == ["203.0.113.7"]


def test_without_the_setting_no_peer_is_a_proxy(make_api: Callable[..., Api]) -> None:
    api = make_api(client=PROXY, code_ip_limit=2)
    assert [request_code(api, ip).status_code for ip in fresh_ipv4s(3)] == [200, 200, 429]


def test_the_session_list_shows_the_forwarded_client(make_api: Callable[..., Api]) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED)
    v4 = api.login("ada@example.com", device="v4", headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.4, 10.0.0.9"})
    api.login("ada@example.com", device="v6", headers={"Forwarded": 'for="[2001:db8:1:2::abcd]:4711";proto=https'})
    listed = {s["deviceName"]: s["ip"] for s in api.sessions(v4)}
    assert listed == {"v4": "198.51.100.4", "v6": "2001:db8:1:2::abcd"}  # the full address, not its /64


HOSTILE = [
    ("X-Forwarded-For", "definitely not an address"),
    ("X-Forwarded-For", "198.51.100.4\xff"),
    ("X-Forwarded-For", "[::1]]:80"),
    ("X-Forwarded-For", "1" * 4000),
    ("X-Forwarded-For", ",,,,"),
    ("Forwarded", 'for="[2001:db8::1'),
    ("Forwarded", "for=unknown"),
    ("Forwarded", "for=" + "\u0661.\u0662.\u0663.\u0664"),  # Arabic-Indic digits are not an IPv4 address
]


@pytest.mark.parametrize(("header", "value"), HOSTILE, ids=[f"{h}-{n}" for n, (h, _v) in enumerate(HOSTILE)])
def test_a_malformed_forwarded_header_falls_back_to_the_peer(
    make_api: Callable[..., Api], header: str, value: str
) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED)
    raw: Any = value.encode()  # the bytes on the wire (httpx takes str headers as ASCII only)
    login = api.login("ada@example.com", headers={header: raw})
    assert [s["ip"] for s in api.sessions(login)] == [PROXY[0]]


def test_ipv6_clients_share_a_budget_within_a_64_and_not_across(
    make_api: Callable[..., Api], limits: dict[str, Any]
) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED, code_ip_limit=3, **limits)
    lan, other_lan = fresh_ipv6_prefix(), fresh_ipv6_prefix()
    hosts = [f"{lan}::1", f"{lan}:aaaa:bbbb:cccc:dddd", f"{lan}::2"]
    assert [request_code(api, ip).status_code for ip in hosts] == [200, 200, 200]
    assert_error(request_code(api, f"{lan}::3"), 429, "rate_limited")  # a fourth host of the same /64
    data(request_code(api, f"{other_lan}::1"))


def test_ipv4_mapped_clients_share_the_ipv4_budget(make_api: Callable[..., Api], limits: dict[str, Any]) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED, code_ip_limit=1, **limits)
    [ip] = fresh_ipv4s(1)
    data(request_code(api, ip))
    assert_error(request_code(api, f"::ffff:{ip}"), 429, "rate_limited")


def test_the_verify_limit_follows_the_forwarded_client(make_api: Callable[..., Api], limits: dict[str, Any]) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED, verify_ip_limit=1, **limits)
    one, two = fresh_ipv4s(2)
    body = {"email": "ada@example.com", "code": "000000"}
    assert_error(api.post("/auth/email/verify", body, headers={"X-Forwarded-For": one}), 401, "invalid_code")
    assert_error(api.post("/auth/email/verify", body, headers={"X-Forwarded-For": one}), 429, "rate_limited")
    assert_error(api.post("/auth/email/verify", body, headers={"X-Forwarded-For": two}), 401, "invalid_code")


def test_login_log_lines_carry_the_forwarded_client(
    make_api: Callable[..., Api], caplog: pytest.LogCaptureFixture
) -> None:
    api = make_api(client=PROXY, trusted_proxies=TRUSTED)
    with caplog.at_level(logging.INFO, logger="authspec.auth"):
        api.login("ada@example.com", headers={"X-Forwarded-For": "198.51.100.4"})  # registers
        api.login("ada@example.com", headers={"X-Forwarded-For": "198.51.100.5"})  # logs in
    events = {r.__dict__["event"]: r.__dict__.get("client_ip") for r in caplog.records if "event" in r.__dict__}
    assert events["registered"] == "198.51.100.4"
    assert events["login"] == "198.51.100.5"


# -- a real `authspec serve` on loopback: the peer is 127.0.0.1 --------------------------------------------------


def _serve(tmp_path: Path, **settings: str) -> ServerProcess:
    env = clean_env(
        AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", AUTHSPEC_MAIL_BACKEND="memory", **settings
    )
    return ServerProcess(lambda port: authspec_cli("serve", port), env=env, log=tmp_path / "serve.log", lifetime=120)


def _code_requests(server: ServerProcess, client_ips: list[str]) -> list[int]:
    with httpx.Client(base_url=server.api, timeout=10) as http:
        return [
            http.post(
                "/auth/email/request-code",
                json={"email": f"{uuid.uuid4().hex}@example.com"},
                headers={"X-Forwarded-For": ip},
            ).status_code
            for ip in client_ips
        ]


@pytest.mark.slow
def test_authspec_serve_behind_a_trusted_proxy_gives_each_client_its_budget(tmp_path: Path) -> None:
    clients = fresh_ipv4s(CODE_IP_LIMIT + 2)
    with _serve(tmp_path, AUTHSPEC_TRUSTED_PROXIES="127.0.0.1") as server:
        assert _code_requests(server, clients) == [200] * (CODE_IP_LIMIT + 2)


@pytest.mark.slow
def test_authspec_serve_ignores_forwarded_headers_from_an_untrusted_peer(tmp_path: Path) -> None:
    # Also holds uvicorn's proxy_headers off: on, it would trust 127.0.0.1 (its forwarded_allow_ips default).
    clients = fresh_ipv4s(CODE_IP_LIMIT + 2)
    with _serve(tmp_path, AUTHSPEC_TRUSTED_PROXIES="10.0.0.0/8") as server:
        assert _code_requests(server, clients) == [200] * CODE_IP_LIMIT + [429, 429]
