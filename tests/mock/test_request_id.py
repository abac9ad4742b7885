"""The mock answers with ``X-Request-ID`` as the service does (``authspec.requestlog`` is the
outermost layer of both apps): the client's well-formed id echoed, else a generated one, on world
answers, contract answers (``Prefer``), errors, unknown routes, preflights and the control API."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.mock.flows import API

RID = {"X-Request-ID": "mock-rid-1"}


def test_every_answer_of_the_mock_echoes_the_request_id(client: TestClient) -> None:
    answers = {
        "world 200": client.post(f"{API}/auth/email/request-code", json={"email": "rid@example.com"}, headers=RID),
        "prefer 409": client.post(
            f"{API}/auth/register",
            json={"registrationToken": "A" * 43, "firstName": "A", "lastName": "B"},
            headers={**RID, "Prefer": "code=409"},
        ),
        "401": client.get(f"{API}/auth/me", headers=RID),
        "404": client.get("/nowhere", headers=RID),
        "control": client.get("/__mock/requests", headers=RID),
        "preflight": client.options(
            f"{API}/auth/me",
            headers={**RID, "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
        ),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "world 200": 200,
        "prefer 409": 409,
        "401": 401,
        "404": 404,
        "control": 200,
        "preflight": 204,
    }
    assert {name: r.headers.get("x-request-id") for name, r in answers.items()} == dict.fromkeys(answers, "mock-rid-1")


def test_the_mock_replaces_a_malformed_request_id(client: TestClient) -> None:
    answer = client.get(f"{API}/auth/me", headers={"X-Request-ID": "no spaces allowed"})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])
