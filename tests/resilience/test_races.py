"""Races over real processes: two uvicorn instances of the service on one database take the
requests alternately, each request on its own connection (``tests/service/test_concurrency.py``
runs the same rules on two in-process servers; here they are separate OS processes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from authspec.storage.tables import refresh_tokens
from contract_tests.mailbox import SmtpSink
from tests.resilience.conftest import ServerProcess, login, rows
from tests.service.support import parallel

pytestmark = pytest.mark.slow


def _statuses(responses: list[Any]) -> Counter[tuple[int, str | None]]:
    return Counter((r.status_code, r.json()["errorCode"]) for r in responses)


def test_fifty_concurrent_refreshes_with_one_token_make_one_lineage(
    start_server: Callable[..., ServerProcess], mailbox: tuple[SmtpSink, int], database: dict[str, str]
) -> None:
    one = start_server()
    two = start_server()
    tokens = login(one.api, mailbox[0], "race@example.com")
    urls = [one.api, two.api]
    body = {"json": {"refreshToken": tokens["refreshToken"]}}
    responses = parallel([("POST", urls[i % 2] + "/auth/refresh", body) for i in range(50)])
    assert _statuses(responses) == {(200, None): 50}  # every caller got an answer, and no 5xx
    successors = {r.json()["data"]["refreshToken"] for r in responses}
    assert len(successors) == 1  # one successor ...
    assert len({r.json()["data"]["accessToken"] for r in responses}) == 1
    assert len(rows(database, refresh_tokens)) == 2  # ... and one lineage: the parent and that successor
    [successor] = successors
    follow = parallel([("POST", two.api + "/auth/refresh", {"json": {"refreshToken": successor}})])[0]
    assert follow.status_code == 200  # the lineage goes on, on either instance


def test_fifty_parallel_wrong_codes_void_the_code_after_five(
    start_server: Callable[..., ServerProcess], mailbox: tuple[SmtpSink, int]
) -> None:
    one = start_server()
    two = start_server()
    email = "guess@example.com"
    box = mailbox[0]
    sent = parallel([("POST", one.api + "/auth/email/request-code", {"json": {"email": email}})])[0]
    assert sent.status_code == 200
    code = box.code_for(email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    guess = {"json": {"email": email, "code": wrong}}
    responses = parallel([("POST", (one.api, two.api)[i % 2] + "/auth/email/verify", guess) for i in range(50)])
    counted = _statuses(responses)
    # Five guesses are compared: four answer invalid_code, the fifth voids the code, and every
    # other guess finds it void.
    assert counted == {(401, "invalid_code"): 4, (429, "too_many_attempts"): 46}, counted
    right = parallel([("POST", two.api + "/auth/email/verify", {"json": {"email": email, "code": code}})])[0]
    assert right.status_code == 429 and right.json()["errorCode"] == "too_many_attempts"  # the code is void
