"""The issue's acceptance test for key rollover: two ``authspec serve`` processes on one database
(SQLite, and PostgreSQL when ``AUTHSPEC_TEST_POSTGRES_URL`` is set), ``authspec keys rotate
--delay 3`` with a reload interval of 1 s, and a loop that logs in and refreshes on each instance
in turn and checks every access token it got on both instances, before, during and after the
switch: not one 401, and tokens issued after the activation time carry the new kid."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from authspec.keys import Keyring
from contract_tests.mailbox import SmtpSink
from tests.helpers import ServerProcess, authspec_cli, clean_env
from tests.resilience.conftest import login, server_env

pytestmark = pytest.mark.slow

DELAY = 3
RELOAD = "1"
SESSIONS = 4


@pytest.fixture
def serve(
    database: dict[str, str], key_file: Path, mailbox: tuple[SmtpSink, int], tmp_path: Path
) -> Iterator[Callable[[], ServerProcess]]:
    """``serve()``: one more ``authspec serve`` process on the test's database, key file and secret."""
    started: list[ServerProcess] = []

    def start() -> ServerProcess:
        env = server_env(database, key_file, mailbox[1], AUTHSPEC_KEY_RELOAD_INTERVAL=RELOAD)
        server = ServerProcess(
            lambda port: authspec_cli("serve", port),
            env=env,
            log=tmp_path / f"serve-{len(started)}.log",
            probe="/readyz",
            lifetime=240,
        )
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@dataclass
class Issued:
    token: str
    kid: str
    by: str
    sent: datetime  # before the request left
    answered: datetime  # after its answer came


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_rotation_gives_no_401_on_either_instance_and_new_tokens_carry_the_new_kid(
    serve: Callable[[], ServerProcess], key_file: Path, mailbox: tuple[SmtpSink, int]
) -> None:
    one, two = serve(), serve()
    names = {one.api: "A", two.api: "B"}
    run = uuid.uuid4().hex[:8]
    issued: list[Issued] = []
    refused: list[str] = []
    with httpx.Client(timeout=30) as http:

        def check(item: Issued, moment: str) -> None:
            for server in (one, two):
                answer = http.get(f"{server.api}/auth/me", headers={"Authorization": f"Bearer {item.token}"})
                if answer.status_code != 200:
                    refused.append(f"{moment}: token of {item.by} ({item.kid[:8]}) on {names[server.api]}: "
                                   f"{answer.status_code} {answer.text[:120]}")  # fmt: skip

        def take(api: str, call: Callable[[], dict[str, str]]) -> dict[str, str]:
            sent = _now()
            tokens = call()
            item = Issued(tokens["accessToken"], jwt.get_unverified_header(tokens["accessToken"])["kid"], names[api],
                          sent, _now())  # fmt: skip
            issued.append(item)
            check(item, "at once")
            return tokens

        def log_in(n: int) -> dict[str, str]:
            api = (one, two)[n % 2].api
            return take(api, lambda: login(api, mailbox[0], f"roll{n}-{run}@example.com", client=http))

        def refresh(api: str, refresh_token: str) -> dict[str, str]:
            def call() -> dict[str, str]:
                answer = http.post(f"{api}/auth/refresh", json={"refreshToken": refresh_token})
                assert answer.status_code == 200, answer.text
                data: dict[str, str] = answer.json()["data"]
                return data

            return take(api, call)

        chains = [log_in(n)["refreshToken"] for n in range(SESSIONS)]
        old_kid = Keyring.load(key_file).keys[0].kid
        # The rotation runs while the loop does: refresh the chains on A and B in turn, log a new
        # user in now and then, and check a token issued earlier on both as well, from before the
        # command until two reload intervals after the activation time.
        rotation = subprocess.Popen(
            [sys.executable, "-m", "authspec.cli", "keys", "rotate", "--file", str(key_file), "--delay", str(DELAY)],
            env=clean_env(AUTHSPEC_KEY_RELOAD_INTERVAL=RELOAD),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        until: datetime | None = None
        n = 0
        while until is None or _now() < until:
            assert time.monotonic() < deadline, "the rollover did not finish in time"
            if until is None and rotation.poll() is not None:
                assert rotation.returncode == 0, rotation.communicate()
                new = Keyring.load(key_file).keys[0]
                assert new.kid != old_kid and new.activates_at is not None
                activation = new.activates_at
                until = activation + timedelta(seconds=2 * float(RELOAD) + 1)
            api = (one, two)[n % 2].api
            if n % 10 == 9:
                log_in(SESSIONS + n)
            else:
                chains[n % SESSIONS] = refresh(api, chains[n % SESSIONS])["refreshToken"]
            check(issued[(n * 7) % len(issued)], "later")
            n += 1
        rotation.communicate(timeout=30)
        for item in issued:  # every token of the run, at the end, on both
            check(item, "at the end")

    assert refused == []
    assert new.kid in {item.kid for item in issued} and old_kid in {item.kid for item in issued}
    for item in issued:
        if item.sent >= activation:
            assert item.kid == new.kid, f"a token asked for after the activation time carries {item.kid}"
        if item.answered < activation:
            assert item.kid == old_kid, f"a token issued before the activation time carries {item.kid}"
    assert [k["kid"] for k in httpx.get(f"{one.url}/.well-known/jwks.json").json()["keys"]] == [new.kid, old_kid]
