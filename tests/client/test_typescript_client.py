"""The client's Node suite (``node --test``) against a started ``authspec mock`` and a started
``authspec serve``: the same file, the same tests, both green.

The service sends its codes to an SMTP sink here; a small HTTP endpoint on loopback answers the
newest code for ``?to=EMAIL`` (404 until one arrived), which the suite polls for at most 10 s.
The service runs with a 4 s access-token lifetime (so the expiry test waits for it instead of
moving a clock) and no resend cooldown.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from contract_tests.mailbox import CODE_LINE, SmtpSink
from tests.client.conftest import NODE, PACKAGE
from tests.helpers import ServerProcess, authspec_cli, clean_env, free_port

pytestmark = pytest.mark.slow

SUITE = PACKAGE / "test" / "client.test.mjs"
TESTS = 6
ACCESS_TTL = "4"


class _Codes(BaseHTTPRequestHandler):
    sink: SmtpSink

    def do_GET(self) -> None:
        email = parse_qs(urlparse(self.path).query).get("to", [""])[0].lower()
        with self.sink._lock:
            bodies = [body for to, body in self.sink.messages if to == email]
        found = CODE_LINE.findall(bodies[-1]) if bodies else []
        payload = (found[-1] if found else "").encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def codes() -> Iterator[tuple[int, str]]:
    """The SMTP sink's port and the URL of the endpoint answering its newest code per address."""
    sink = SmtpSink("127.0.0.1", free_port()).start()
    handler = type("Codes", (_Codes,), {"sink": sink})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink.port, f"http://127.0.0.1:{http.server_address[1]}/code"
    finally:
        http.shutdown()
        http.server_close()
        sink.stop()


def _run_suite(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    return subprocess.run(
        [NODE, "--test", "--test-reporter=tap", str(SUITE)],
        capture_output=True, text=True, timeout=240, cwd=PACKAGE, env=env, check=False,
    )  # fmt: skip


def _assert_all_passed(done: subprocess.CompletedProcess[str]) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    counts = dict(re.findall(r"^# (tests|pass|fail|skipped|cancelled) (\d+)$", done.stdout, re.MULTILINE))
    assert counts == {"tests": str(TESTS), "pass": str(TESTS), "fail": "0", "skipped": "0", "cancelled": "0"}, out


def test_the_suite_passes_against_the_mock(built_client: Path, tmp_path: Path) -> None:
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), AUTHSPEC_MAIL_BACKEND="memory")
    with ServerProcess(
        lambda port: authspec_cli("mock", port), env=env, log=tmp_path / "mock.log", cwd=tmp_path, lifetime=240
    ) as mock:
        done = _run_suite({**env, "AUTHSPEC_TARGET": "mock", "AUTHSPEC_URL": mock.url})
    _assert_all_passed(done)


def test_the_suite_passes_against_the_service(built_client: Path, tmp_path: Path, codes: tuple[int, str]) -> None:
    smtp_port, codes_url = codes
    settings = {
        "AUTHSPEC_DATABASE_URL": f"sqlite:///{tmp_path / 'authspec.db'}",
        "AUTHSPEC_MAIL_BACKEND": "smtp",
        "AUTHSPEC_SMTP_HOST": "127.0.0.1",
        "AUTHSPEC_SMTP_PORT": str(smtp_port),
        "AUTHSPEC_ACCESS_TTL": ACCESS_TTL,
        "AUTHSPEC_CODE_RESEND_AFTER": "0",
        "AUTHSPEC_CODE_MAILBOX_HOURLY": "0",
        "AUTHSPEC_CODE_IP_LIMIT": "100000",
        "AUTHSPEC_VERIFY_IP_LIMIT": "100000",
    }
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), **settings)
    with ServerProcess(
        lambda port: authspec_cli("serve", port), env=env, log=tmp_path / "serve.log", cwd=tmp_path, lifetime=240
    ) as service:
        done = _run_suite({
            **clean_env(), "AUTHSPEC_TARGET": "serve", "AUTHSPEC_URL": service.url, "AUTHSPEC_CODES_URL": codes_url,
            "AUTHSPEC_ACCESS_TTL": ACCESS_TTL, "AUTHSPEC_REFRESH_GRACE": "10",
        })  # fmt: skip
    _assert_all_passed(done)
