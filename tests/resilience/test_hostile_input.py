"""Hostile input over HTTP against a running server: forged and misused access tokens get 401,
and malformed, non-UTF-8, oversized and wrongly typed bodies get an error envelope, never a 5xx.
(``tests/service/test_tokens.py`` checks the attack set in-process; here it crosses uvicorn.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from authspec.keys import Keyring
from contract_tests.checks import assert_envelope
from contract_tests.mailbox import SmtpSink
from tests.jwt_attacks import ATTACKS, jwt_attacks
from tests.resilience.conftest import ServerProcess, login, server_env, uvicorn_server

pytestmark = pytest.mark.slow


def _started(folder: Path, port: int, factory: str, key_file: Path | None = None) -> ServerProcess:
    """The service (with a key and a database of its own) or the mock, under ``factory``."""
    values = {} if key_file is None else {"AUTHSPEC_DATABASE_URL": f"sqlite:///{folder / 'authspec.db'}"}
    env = server_env(values, key_file or folder / "unused.pem", port)
    return uvicorn_server(env, folder / "server.log", factory=factory)


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[SmtpSink, int]
) -> Iterator[tuple[ServerProcess, Path]]:
    folder = tmp_path_factory.mktemp("hostile")
    key_file = folder / "keys.pem"
    Keyring.generate().save(key_file)
    server = _started(folder, mailbox[1], "authspec.handlers.app:create_app", key_file)
    yield server, key_file
    server.stop()


@pytest.fixture(scope="module")
def stock_service(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[SmtpSink, int]) -> Iterator[ServerProcess]:
    """The same service on stock Connexion (``create_app(fast=False)``), for the parity tests."""
    folder = tmp_path_factory.mktemp("hostile-stock")
    Keyring.generate().save(folder / "keys.pem")
    server = _started(folder, mailbox[1], "bench.factories:service_stock", folder / "keys.pem")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stock_mock(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[SmtpSink, int]) -> Iterator[ServerProcess]:
    server = _started(tmp_path_factory.mktemp("hostile-stock-mock"), mailbox[1], "bench.factories:mock_stock")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mock_server(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[SmtpSink, int]) -> Iterator[ServerProcess]:
    server = _started(tmp_path_factory.mktemp("hostile-mock"), mailbox[1], "authspec.mock.app:create_app")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def session(service: tuple[ServerProcess, Path], mailbox: tuple[SmtpSink, int]) -> dict[str, Any]:
    return login(service[0].api, mailbox[0], "target@example.com")


# -- the JWT attack set (tests/jwt_attacks.py) -----------------------------------------------------------------
def _attacks(key_file: Path, tokens: dict[str, Any]) -> dict[str, tuple[str, str]]:
    real = jwt.decode(tokens["accessToken"], options={"verify_signature": False})
    return jwt_attacks(Keyring.load(key_file).active, real, now=int(time.time()), refresh_token=tokens["refreshToken"])


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("path", ["/auth/me", "/auth/sessions"])
def test_forged_and_misused_tokens_get_401(
    attack: str, path: str, service: tuple[ServerProcess, Path], session: dict[str, Any]
) -> None:
    server, key_file = service
    token, code = _attacks(key_file, session)[attack]
    response = httpx.get(server.api + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["isSuccess"] is False and body["statusCode"] == 401 and body["errorCode"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    genuine = httpx.get(server.api + path, headers={"Authorization": f"Bearer {session['accessToken']}"}, timeout=30)
    assert genuine.status_code == 200  # the real token still works


# -- hostile bodies ------------------------------------------------------------------------------------------------
def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    yield b'{"email": "'
    while sent < total:
        yield b"a" * 8192
        sent += 8192
    yield b'@example.com"}'


JSON = {"Content-Type": "application/json"}
BODIES: dict[str, dict[str, Any]] = {
    "truncated-json": {"content": b'{"email": "a@example.com"', "headers": JSON},
    "not-json": {"content": b"email=a@example.com", "headers": JSON},
    "non-utf8": {"content": b'{"email": "\xff\xfe@example.com"}', "headers": JSON},
    "utf16": {"content": '{"email": "a@example.com"}'.encode("utf-16"), "headers": JSON},
    "unknown-charset": {
        "content": b'{"email": "a@example.com"}',
        "headers": {"Content-Type": "application/json;charset=klingon"},
    },
    "deeply-nested": {"content": b"[" * 20000 + b"]" * 20000, "headers": JSON},
    "huge-integer": {"content": b'{"email": ' + b"9" * 5000 + b"}", "headers": JSON},
    "unpaired-surrogate": {"content": b'{"email": "\\udc00@example.com", "code": "123456"}', "headers": JSON},
    "oversized-announced": {"content": b'{"email": "' + b"a" * 70000 + b'@example.com"}', "headers": JSON},
    "oversized-chunked": {"content": "chunked", "headers": JSON},
    "text-plain": {"content": b'{"email": "a@example.com"}', "headers": {"Content-Type": "text/plain"}},
    "form": {"content": b"email=a%40example.com", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "multipart": {"content": b"--x\r\n\r\n--x--\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
    "json-null": {"content": b"null", "headers": JSON},
    "json-array": {"content": b"[]", "headers": JSON},
    "empty": {"content": b"", "headers": JSON},
}
OPERATIONS = ["/auth/email/request-code", "/auth/email/verify", "/auth/register", "/auth/refresh", "/auth/logout"]


def _send(server: ServerProcess, path: str, case: str, token: str | None) -> httpx.Response:
    spec = dict(BODIES[case])
    headers = dict(spec["headers"])
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = _chunks(70000) if spec["content"] == "chunked" else spec["content"]
    return httpx.post(server.api + path, content=content, headers=headers, timeout=30)


def _assert_envelope(response: httpx.Response, case: str) -> None:
    assert response.status_code < 500, (case, response.status_code, response.text[:300])
    assert response.status_code >= 400, (case, response.status_code, response.text[:300])
    assert_envelope(response.json(), response.status_code)


@pytest.mark.parametrize("case", list(BODIES))
@pytest.mark.parametrize("path", OPERATIONS)
def test_hostile_bodies_get_error_envelopes_from_the_service(
    case: str, path: str, service: tuple[ServerProcess, Path], mailbox: tuple[SmtpSink, int]
) -> None:
    token = None
    if path == "/auth/logout":  # a session of its own: one of these logouts succeeds
        token = login(service[0].api, mailbox[0], f"logout-{case}@example.com")["accessToken"]
    response = _send(service[0], path, case, token)
    if path == "/auth/logout" and case == "empty":
        assert response.status_code == 200  # logout's body is optional: no body is the default scope
        return
    _assert_envelope(response, case)


@pytest.mark.parametrize("case", list(BODIES))
def test_hostile_bodies_get_error_envelopes_from_the_mock(case: str, mock_server: ServerProcess) -> None:
    for path in OPERATIONS[:4]:
        _assert_envelope(_send(mock_server, path, case, None), case)


def _answer(response: httpx.Response) -> tuple[int, str | None, list[str]]:
    body = response.json()
    return response.status_code, body["errorCode"], body["errors"]


@pytest.mark.parametrize("case", list(BODIES))
@pytest.mark.parametrize("path", OPERATIONS[:4])
def test_stock_connexion_answers_hostile_bodies_as_the_fast_path(
    case: str, path: str, service: tuple[ServerProcess, Path], stock_service: ServerProcess
) -> None:
    # The robustness lives outside the speed layer: the stock app gives the very same envelope.
    fast = _send(service[0], path, case, None)
    _assert_envelope(fast, case)
    assert _answer(_send(stock_service, path, case, None)) == _answer(fast)


@pytest.mark.parametrize("case", list(BODIES))
def test_the_stock_mock_answers_hostile_bodies_as_the_fast_mock(
    case: str, mock_server: ServerProcess, stock_mock: ServerProcess
) -> None:
    for path in OPERATIONS[:4]:
        fast = _send(mock_server, path, case, None)
        _assert_envelope(fast, case)
        assert _answer(_send(stock_mock, path, case, None)) == _answer(fast), path
