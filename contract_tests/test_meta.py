"""The suite itself: it fails on a deliberately broken handler, and ``authspec contract --url`` works
against a running service (``authspec serve``, what ``make serve`` runs) and a running mock
(``authspec mock``), each started on a free loopback port in a child process that stops by itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.helpers import ServerProcess, authspec_cli, clean_env, free_port

from .auth import login
from .differential import Different, pair
from .http import Http
from .mailbox import SmtpSink

pytestmark = pytest.mark.slow

#: Seconds a child process may live at most (``timeout`` ends it even if this test process dies).
LIFETIME = 240


def bounded(command: list[str]) -> list[str]:
    """``command``, ended by coreutils' ``timeout`` after LIFETIME seconds whatever happens here."""
    found = shutil.which("timeout")
    return [found, "-k", "5", str(LIFETIME), *command] if found else command


@contextmanager
def server(kind: str, env: dict[str, str], workdir: Path) -> Iterator[str]:
    """``authspec serve`` or ``authspec mock`` on a free loopback port; yields its base URL."""
    with ServerProcess(
        partial(authspec_cli, kind),
        env=env,
        log=workdir / f"{kind}.log",
        cwd=workdir,
        lifetime=LIFETIME,
        ready_within=60,
    ) as running:
        yield running.url


def run_contract(
    args: list[str], workdir: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    junit = workdir / "contract-junit.xml"
    done = subprocess.run(
        bounded([sys.executable, "-m", "authspec.cli", "contract", *args, "--junit", str(junit)]),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIFETIME + 30,
        check=False,
    )
    stats_file = workdir / "contract-junit-stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return done, stats


def junit_cases(path: Path) -> list[str]:
    return [case.get("name", "") for case in ET.parse(path).getroot().iter("testcase")]


#: A live target's per-IP limits must let the suite's logins through (every call comes from 127.0.0.1).
LIVE_LIMITS = {"AUTHSPEC_CODE_IP_LIMIT": "100000", "AUTHSPEC_VERIFY_IP_LIMIT": "100000"}


def test_contract_url_against_a_running_mock(tmp_path: Path) -> None:
    env = clean_env(XDG_CACHE_HOME=str(tmp_path / "cache"), **LIVE_LIMITS)
    with server("mock", env, tmp_path) as base:
        done, stats = run_contract(["--url", base, "--max-examples", "3"], tmp_path, clean_env())
        # The run used a namespace of its own: the default world of the shared mock saw nothing.
        untouched = requests.get(f"{base}/__mock/requests", timeout=5).json()["data"]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert stats["generated"].get("live", 0) > 50, stats
    cases = junit_cases(tmp_path / "contract-junit.xml")
    assert any("live" in name and "/auth/refresh" in name for name in cases), cases
    assert any(name == "test_links[live]" for name in cases), cases
    assert [r for r in untouched if r.get("path", "").startswith("/api/")] == []


def test_contract_url_against_a_running_service(tmp_path: Path) -> None:
    """``authspec serve`` mailing an SMTP port: first the suite runs the sink there and logs in
    through it; then, with the sink in this test, tokens are taken once and the suite runs on
    them alone (``AUTHSPEC_CONTRACT_TOKEN``), leaving that session alive."""
    sink = free_port()
    env = clean_env(
        AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        AUTHSPEC_JWT_PRIVATE_KEY_FILE=str(tmp_path / "keys.pem"),
        AUTHSPEC_MAIL_BACKEND="smtp",
        AUTHSPEC_SMTP_HOST="127.0.0.1",
        AUTHSPEC_SMTP_PORT=str(sink),
        **LIVE_LIMITS,
    )
    with server("serve", env, tmp_path) as base:
        done, stats = run_contract(
            ["--url", f"{base}/api/v1", "--max-examples", "3", "--smtp-sink", f"127.0.0.1:{sink}"],
            tmp_path,
            clean_env(),
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert stats["generated"].get("live", 0) > 50, stats
        assert stats["logins"].get("live", 0) >= 1, stats
        assert any(name == "test_links[live]" for name in junit_cases(tmp_path / "contract-junit.xml"))

        mailbox = SmtpSink("127.0.0.1", sink).start()
        try:
            identity = login(Http.remote(base), mailbox)
        finally:
            mailbox.stop()
        tokens = {"AUTHSPEC_CONTRACT_TOKEN": identity.access, "AUTHSPEC_CONTRACT_REFRESH_TOKEN": identity.refresh}
        done, stats = run_contract(["--url", base, "--max-examples", "3"], tmp_path, clean_env(**tokens))
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        assert stats["generated"].get("live", 0) > 50, stats
        skipped = [
            case.get("name")
            for case in ET.parse(tmp_path / "contract-junit.xml").getroot().iter("testcase")
            if case.find("skipped") is not None
        ]
        assert "test_links[live]" in skipped, skipped  # stateful sequences start with logins
        # The given session survived the run (logout was only sent with scope "others").
        me = requests.get(f"{base}/api/v1/auth/me", headers={"Authorization": f"Bearer {identity.access}"}, timeout=5)
        assert me.status_code == 200, me.text


def test_a_real_service_without_a_way_to_log_in_is_a_clear_failure(tmp_path: Path) -> None:
    env = clean_env(AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", AUTHSPEC_MAIL_BACKEND="memory")
    with server("serve", env, tmp_path) as base:
        done, _ = run_contract(["--url", base, "--max-examples", "1", "--phases", "examples"], tmp_path, clean_env())
    assert done.returncode == 1
    assert "cannot read its login codes" in done.stdout, done.stdout[-3000:]


def test_the_suite_fails_on_broken_handlers(tmp_path: Path) -> None:
    """``contract_tests.breakage`` breaks five of the handlers the mock runs; our checks must say so for each."""
    done = subprocess.run(
        bounded(
            [
                sys.executable,
                "-m",
                "pytest",
                "--pyargs",
                "authspec.contract_tests.test_operations",
                "authspec.contract_tests.test_stateful",
                "-p",
                "authspec.contract_tests.breakage",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={tmp_path / 'broken.xml'}",
            ]
        ),
        cwd=tmp_path,
        env=clean_env(AUTHSPEC_CONTRACT_TARGETS="mock", AUTHSPEC_CONTRACT_MAX_EXAMPLES="5"),
        capture_output=True,
        text=True,
        timeout=LIFETIME + 30,
        check=False,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    failures: dict[str, str] = {}
    for case in ET.parse(tmp_path / "broken.xml").getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is not None:
            failures[case.get("name", "")] = failure.get("message", "") + (failure.text or "")
    broken = {
        "test_operation[mock][GET /auth/me]": "envelope_invariants",
        "test_operation[mock][GET /auth/sessions]": "no_secret_echo",
        "test_operation[mock][POST /auth/logout]": "session_end_enforced",
        "test_operation[mock][GET /.well-known/jwks.json]": "no_secret_echo",
        "test_operation[mock][POST /auth/refresh]": "declared_auth_headers",
    }
    for test, check in broken.items():
        assert test in failures, sorted(failures)
        assert f"Custom check failed: `{check}`" in failures[test], failures[test][-2000:]
    # The stateful run stops at the first of them; the operations left intact pass (no cascade).
    assert "test_links[mock]" in failures
    assert {name for name in failures if name.startswith("test_operation")} == set(broken)


def test_the_differential_comparator_fires_when_the_apps_differ() -> None:
    # The mock reads X-Mock-Namespace (a bad name is its 400); the real service ignores the header.
    with pair() as both, pytest.raises(Different) as caught:
        both.step("a header only the mock reads", "GET", "/api/v1/auth/me", headers={"X-Mock-Namespace": "bad name"})
    first_line = str(caught.value).splitlines()[0]
    assert first_line == (
        "step 1 (a header only the mock reads): GET /api/v1/auth/me: the real app and the mock differ in "
        "errorCode, errors[0], status, www-authenticate"
    )


def test_the_differential_comparator_holds_a_scenario_to_its_expected_status() -> None:
    with pair() as both, pytest.raises(Different) as caught:
        both.step("the JWKS", "GET", "/.well-known/jwks.json", expect=404)
    assert str(caught.value).splitlines()[0] == (
        "step 1 (the JWKS): GET /.well-known/jwks.json: both answered 200, the scenario expects 404"
    )
