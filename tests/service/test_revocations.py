"""The revocation feed (GET /auth/revocations) on the real service, on SQLite and PostgreSQL: paging
with ``limit``/``hasMore``, the cursor's rules, long-polls woken by a revocation on the same app and
on another app sharing the store (the latency is measured and printed, never asserted), the purge
of entries whose ``exp`` passed, and a stop signal that ends held long-polls at once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from authspec.storage.engine import Database
from authspec.storage.purge import purge
from authspec.storage.tables import revocations
from tests.helpers import POSTGRES_URL, ServerProcess, assert_error, clean_env, uvicorn_factory
from tests.service.conftest import Target
from tests.service.support import API, Api, Login, data, live
from tests.service.test_introspection import CLIENTS, basic


@pytest.fixture
def rs_api(make_api: Callable[..., Api]) -> Api:
    return make_api(introspection_clients=CLIENTS)


def feed(api: Api, **params: Any) -> dict[str, Any]:
    answer: dict[str, Any] = data(api.get("/auth/revocations", params=params, headers=basic()))
    return answer


def end_sessions(api: Api, count: int, email: str = "ada@example.com") -> list[str]:
    """Log in ``count`` times and end each session with logout (current); their sids in order."""
    sids = []
    for n in range(count):
        login = api.login(f"{n}-{email}")
        sids.append(_sid(api, login))
        data(api.post("/auth/logout", {"scope": "current"}, token=login.access))
    return sids


def _sid(api: Api, login: Login) -> str:
    sid: str = data(api.post("/auth/introspect", {"token": login.access}, headers=basic()))["sid"]
    return sid


def test_an_empty_feed_answers_no_entries_and_a_cursor(rs_api: Api) -> None:
    assert feed(rs_api) == {"revocations": [], "cursor": "0", "hasMore": False}


def test_entries_come_in_order_with_their_exp(rs_api: Api) -> None:
    sids = end_sessions(rs_api, 3)
    page = feed(rs_api)
    assert [e["sid"] for e in page["revocations"]] == sids and page["hasMore"] is False
    for entry in page["revocations"]:
        ended = datetime.fromisoformat(entry["endedAt"].replace("Z", "+00:00"))
        assert entry["exp"] == int(ended.timestamp()) + rs_api.settings.access_ttl


def test_limit_pages_with_has_more_and_the_cursor(rs_api: Api) -> None:
    sids = end_sessions(rs_api, 5)
    seen, cursor, pages = [], None, 0
    while True:
        page = feed(rs_api, limit=2, **({"after": cursor} if cursor else {}))
        seen += [e["sid"] for e in page["revocations"]]
        cursor, pages = page["cursor"], pages + 1
        if not page["hasMore"]:
            break
    assert seen == sids and pages == 3
    assert feed(rs_api, after=cursor) == {"revocations": [], "cursor": cursor, "hasMore": False}


def test_a_cursor_beyond_the_newest_entry_reads_as_absent(rs_api: Api) -> None:
    sids = end_sessions(rs_api, 2)
    page = feed(rs_api, after="999999")
    assert [e["sid"] for e in page["revocations"]] == sids


def test_a_cursor_past_any_64_bit_id_reads_as_absent(rs_api: Api) -> None:
    sids = end_sessions(rs_api, 1)
    for after in (str(2**63), "9" * 32):  # the contract allows 32 digits; no store keeps such an id
        page = feed(rs_api, after=after)
        assert [e["sid"] for e in page["revocations"]] == sids


def test_malformed_parameters_are_validation_failed(rs_api: Api) -> None:
    for params in ({"after": "abc"}, {"wait": 31}, {"limit": 0}, {"limit": 1001}, {"wait": -1}):
        answer = rs_api.get("/auth/revocations", params=params, headers=basic())
        assert_error(answer, 400, "validation_failed")


def test_the_purge_drops_entries_whose_exp_passed(rs_api: Api) -> None:
    end_sessions(rs_api, 2)
    rs_api.clock.advance(rs_api.settings.access_ttl + 10)
    kept = end_sessions(rs_api, 1)
    settings = rs_api.settings

    async def run() -> int:
        db = Database(settings.database_url, schema=settings.database_schema)
        try:
            report = await purge(db, rs_api.clock.now(), access_ttl=settings.access_ttl)
            return report.rows
        finally:
            await db.dispose()

    asyncio.run(run())
    assert [row["sid"] for row in rs_api.rows(revocations)] == kept
    assert [e["sid"] for e in feed(rs_api)["revocations"]] == kept


# -- long-polling -------------------------------------------------------------------------------------------
def _live_login(url: str, mailer: Any, email: str) -> str:
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/auth/email/request-code", json={"email": email}).raise_for_status()
        verified = client.post("/auth/email/verify", json={"email": email, "code": mailer.last_code(email)}).json()
        result = verified["data"]
        if result["status"] == "registration_required":
            body = {"registrationToken": result["registrationToken"], "firstName": "Ada", "lastName": "L"}
            result = client.post("/auth/register", json=body).json()["data"]
        token: str = result["tokens"]["accessToken"]
        return token


def _long_poll(url: str, after: str, wait: int, out: dict[str, Any]) -> None:
    answer = httpx.get(f"{url}/auth/revocations", params={"after": after, "wait": wait}, headers=basic(), timeout=40)
    out["answered_at"] = time.perf_counter()
    out["body"] = answer.json()


def _wake_latency(poll_url: str, revoke_url: str, mailer: Any, label: str) -> dict[str, Any]:
    token = _live_login(revoke_url, mailer, re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + "@example.com")
    cursor = httpx.get(f"{poll_url}/auth/revocations", headers=basic()).json()["data"]["cursor"]
    out: dict[str, Any] = {}
    poller = threading.Thread(target=_long_poll, args=(poll_url, cursor, 20, out))
    poller.start()
    time.sleep(0.5)  # the long-poll is held
    httpx.post(f"{revoke_url}/auth/logout", json={"scope": "all"}, headers={"Authorization": f"Bearer {token}"})
    revoked_at = time.perf_counter()
    poller.join(30)
    latency = out["answered_at"] - revoked_at
    print(f"\n{label}: long-poll answered {latency * 1000:.0f} ms after the revocation")
    return dict(out["body"]["data"])


def test_a_long_poll_wakes_when_the_same_app_revokes(make_app: Callable[..., Any]) -> None:
    app = make_app(introspection_clients=CLIENTS)
    with live(app) as [url]:
        page = _wake_latency(url, url, app.authspec.extras["mailer"], "same app")
    assert len(page["revocations"]) == 1


def test_a_long_poll_wakes_when_another_app_sharing_the_store_revokes(
    make_app: Callable[..., Any], target: Target
) -> None:
    first, second = make_app(introspection_clients=CLIENTS), make_app(introspection_clients=CLIENTS)
    with live(first, second) as [url_a, url_b]:
        page = _wake_latency(url_b, url_a, first.authspec.extras["mailer"], f"other app ({target.backend})")
    assert len(page["revocations"]) == 1


def test_a_long_poll_without_entries_answers_empty_after_wait(rs_api: Api) -> None:
    started = time.perf_counter()
    page = feed(rs_api, wait=1)
    print(f"\nan empty long-poll of wait=1 answered after {time.perf_counter() - started:.2f} s")
    assert page == {"revocations": [], "cursor": "0", "hasMore": False}


@pytest.mark.skipif(POSTGRES_URL is None, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL to use")
def test_two_uvicorn_processes_on_one_postgres_schema_and_a_stop_during_a_long_poll(
    tmp_path: Path, target: Target
) -> None:
    if target.backend != "postgres":
        pytest.skip("the PostgreSQL run covers it")
    env = clean_env(
        AUTHSPEC_DATABASE_URL=target.url,
        AUTHSPEC_DATABASE_SCHEMA=str(target.schema),
        AUTHSPEC_JWT_PRIVATE_KEY_FILE=str(tmp_path / "keys.pem"),
        AUTHSPEC_SECRET_FILE=str(tmp_path / "secret"),
        AUTHSPEC_INTROSPECTION_CLIENTS=CLIENTS,
        AUTHSPEC_MAIL_BACKEND="console",
    )
    factory = "authspec.handlers.app:create_app"
    with ServerProcess(lambda port: uvicorn_factory(factory, port), env=env, log=tmp_path / "a.log") as a:
        with ServerProcess(lambda port: uvicorn_factory(factory, port), env=env, log=tmp_path / "b.log") as b:
            mailer = _LogMailbox(tmp_path / "a.log")
            page = _wake_latency(b.api, a.api, mailer, "two uvicorn processes on PostgreSQL")
            assert len(page["revocations"]) == 1
            # A stop signal while a long-poll is held: the poll answers at once and the process exits.
            out: dict[str, Any] = {}
            poller = threading.Thread(target=_long_poll, args=(b.api, page["cursor"], 30, out))
            poller.start()
            time.sleep(0.5)
            stopped = time.perf_counter()
            b.process.send_signal(signal.SIGTERM)
            b.process.wait(20)
            poller.join(20)
            print(f"\nSIGTERM during a 30 s long-poll: process exited after {time.perf_counter() - stopped:.2f} s")
            assert out["body"]["data"]["revocations"] == []


class _LogMailbox:
    """Codes of a process whose console mailer prints them into its log."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def last_code(self, email: str) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            at = text.rfind(email)
            found = re.search(r"^\s*([0-9]{6})\s*$", text[at:], re.M) if at >= 0 else None
            if found:
                return found.group(1)
            time.sleep(0.05)
        raise KeyError(email)


_ = (os, timedelta, API)
