"""The README's production setup, run as written: ``deploy/Procfile``'s two instances on one
PostgreSQL database (and Redis when ``AUTHSPEC_TEST_REDIS_URL`` is set) behind nginx with
``deploy/nginx.conf``, configured from ``deploy/production.env.example``.

Only what cannot exist on a test machine is replaced: the database, Redis and SMTP addresses, the
key and secret files (created with the commands the README gives), the ports (the test's free ones
instead of 8080-8082), and the key reload interval (1 s instead of 10, so a rotation takes seconds).
Clients connect from addresses of their own (127.x.y.z), so nginx's ``X-Forwarded-For`` is what
tells them apart.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from contract_tests.mailbox import SmtpSink
from tests.helpers import ServerProcess, clean_env
from tests.resilience.conftest import POSTGRES_URL, drop_schema, login

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
REDIS_URL = os.environ.get("AUTHSPEC_TEST_REDIS_URL")
CODE_IP_LIMIT = 3

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="AUTHSPEC_TEST_POSTGRES_URL is not set: no PostgreSQL to use"),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: nginx-light; .ci/run installs it)"),
]


def example_settings() -> dict[str, str]:
    """``deploy/production.env.example`` as a dict (``NAME=value`` lines)."""
    pairs = {}
    for line in (DEPLOY / "production.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = " ".join(shlex.split(value))  # as the shell that sources it reads it
    return pairs


def procfile() -> dict[str, str]:
    """``deploy/Procfile``'s processes: name → command line."""
    lines = (DEPLOY / "Procfile").read_text().splitlines()
    return {
        name.strip(): command.strip()
        for name, _, command in (line.partition(":") for line in lines if line.strip() and not line.startswith("#"))
    }


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authspec.cli", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    kid: str = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    return kid


@dataclass
class Deployment:
    url: str
    api: str
    env: dict[str, str]
    instances: dict[str, ServerProcess]
    mailbox: SmtpSink

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """A client on an address of its own, as a separate machine would be."""
        address = f"127.{random.randint(1, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as http:
            http.address = address  # type: ignore[attr-defined]
            yield http


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, mailbox: tuple[SmtpSink, int]) -> Iterator[Deployment]:
    assert POSTGRES_URL and NGINX
    folder = tmp_path_factory.mktemp("production")
    schema = f"authspec_p_{uuid.uuid4().hex[:16]}"
    env = clean_env()
    env.update(example_settings())
    env.update(
        AUTHSPEC_DATABASE_URL=POSTGRES_URL,
        AUTHSPEC_DATABASE_SCHEMA=schema,
        AUTHSPEC_JWT_PRIVATE_KEY_FILE=str(folder / "keys.pem"),
        AUTHSPEC_SECRET_FILE=str(folder / "secret"),
        AUTHSPEC_SMTP_HOST="127.0.0.1",
        AUTHSPEC_SMTP_PORT=str(mailbox[1]),
        AUTHSPEC_SMTP_TLS="none",  # the test's sink speaks plain SMTP, so no login either
        AUTHSPEC_CODE_IP_LIMIT=str(CODE_IP_LIMIT),
        AUTHSPEC_KEY_RELOAD_INTERVAL="1",
    )
    for name in ("AUTHSPEC_SMTP_USERNAME", "AUTHSPEC_SMTP_PASSWORD"):
        env.pop(name)
    if REDIS_URL:
        env["AUTHSPEC_REDIS_URL"] = REDIS_URL
    else:
        env.pop("AUTHSPEC_REDIS_URL")
    # The README's first steps: a key file and a secret file, then the schema.
    for step in (("keys", "rotate", "--file", env["AUTHSPEC_JWT_PRIVATE_KEY_FILE"]),
                 ("secrets", "init", "--file", env["AUTHSPEC_SECRET_FILE"]), ("migrate",)):  # fmt: skip
        done = cli(*step, env=env)
        assert done.returncode == 0, f"authspec {' '.join(step)}: {done.stderr}"

    processes = procfile()
    instances: dict[str, ServerProcess] = {}
    try:
        for name in ("web1", "web2"):
            command = shlex.split(processes[name])
            assert command[:2] == ["authspec", "serve"], processes[name]

            def argv(port: int, command: list[str] = command) -> list[str]:
                args = [str(port) if arg in ("8081", "8082") else arg for arg in command[1:]]
                return [sys.executable, "-m", "authspec.cli", *args]

            instances[name] = ServerProcess(argv, env=env, log=folder / f"{name}.log", probe="/readyz", lifetime=600)
        conf = (DEPLOY / "nginx.conf").read_text()
        conf = conf.replace("127.0.0.1:8081", f"127.0.0.1:{instances['web1'].port}")
        conf = conf.replace("127.0.0.1:8082", f"127.0.0.1:{instances['web2'].port}")
        prefix = folder / "nginx"
        (prefix / "tmp").mkdir(parents=True)

        def nginx(port: int) -> list[str]:
            (prefix / "nginx.conf").write_text(conf.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};"))
            return [str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"]

        proxy = ServerProcess(nginx, env=env, log=folder / "nginx.log", probe="/readyz", lifetime=600)
        instances["proxy"] = proxy
        yield Deployment(proxy.url, proxy.api, env, instances, mailbox[0])
    finally:
        for server in reversed(instances.values()):
            server.stop()
        import asyncio

        asyncio.run(drop_schema(POSTGRES_URL, schema))


def test_the_procfile_starts_two_instances_with_workers_behind_nginx(deployment: Deployment) -> None:
    processes = procfile()
    assert set(processes) == {"web1", "web2", "proxy"}
    assert all("--workers 2" in processes[name] for name in ("web1", "web2"))
    with deployment.client() as http:
        ready = http.get(deployment.url + "/readyz")
        assert ready.status_code == 200, ready.text
        assert {deployment.instances[n].process.poll() for n in ("web1", "web2")} == {None}
        assert http.get(deployment.url + "/metrics").status_code == 403  # nginx keeps it to the scraper
    scraped = httpx.get(deployment.url + "/metrics", timeout=30)  # from 127.0.0.1, the listed scraper
    assert scraped.status_code == 200 and "authspec_requests_total" in scraped.text


def test_each_client_behind_the_proxy_has_its_own_budget_and_session_ip(deployment: Deployment) -> None:
    with deployment.client() as first, deployment.client() as second:
        spoof = {"X-Forwarded-For": "198.51.100.7"}  # nginx replaces it with the address it saw
        answers = [
            first.post(
                f"{deployment.api}/auth/email/request-code",
                json={"email": f"b{n}-{uuid.uuid4().hex[:8]}@example.com"},
                headers=spoof,
            )
            for n in range(CODE_IP_LIMIT + 1)
        ]
        assert [a.status_code for a in answers] == [200] * CODE_IP_LIMIT + [429]
        assert answers[-1].json()["errorCode"] == "rate_limited"
        tokens = login(deployment.api, deployment.mailbox, f"own-{uuid.uuid4().hex[:8]}@example.com", client=second)
        listed = second.get(
            f"{deployment.api}/auth/sessions", headers={"Authorization": f"Bearer {tokens['accessToken']}"}
        )
        assert listed.status_code == 200, listed.text
        assert [s["ip"] for s in listed.json()["data"]] == [second.address]  # type: ignore[attr-defined]


def test_a_key_rotation_under_load_refuses_no_token(deployment: Deployment) -> None:
    statuses: Counter[int] = Counter()
    kids: list[str] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def traffic() -> None:
        try:
            drive()
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            failures.append(exc)

    def drive() -> None:
        with deployment.client() as http:
            tokens = login(deployment.api, deployment.mailbox, f"load-{uuid.uuid4().hex[:8]}@example.com", client=http)
            while not stop.is_set():
                refreshed = http.post(f"{deployment.api}/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
                statuses[refreshed.status_code] += 1
                if refreshed.status_code != 200:
                    continue
                tokens = refreshed.json()["data"]
                kids.append(kid_of(tokens["accessToken"]))
                for _ in range(2):  # both instances, most likely: nginx balances round-robin
                    me = http.get(
                        f"{deployment.api}/auth/me", headers={"Authorization": f"Bearer {tokens['accessToken']}"}
                    )
                    statuses[me.status_code] += 1

    workers = [threading.Thread(target=traffic) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(2)
        before = set(kids)
        rotated = cli("keys", "rotate", "--delay", "3", env=deployment.env)
        assert rotated.returncode == 0, rotated.stderr
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and set(kids) <= before:
            time.sleep(0.2)
        time.sleep(2)  # and some traffic on the new key
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    new = set(kids) - before
    print(f"\nrotation under load: {dict(statuses)}; kids before {sorted(before)}, after {sorted(new)}")
    assert not failures, failures
    assert len(before) == 1 and len(new) == 1, (before, new)
    assert set(statuses) == {200}, statuses


def test_a_misspelt_setting_stops_a_production_start(deployment: Deployment) -> None:
    env = dict(deployment.env)
    env["AUTHSPEC_DATABSE_URL"] = env.pop("AUTHSPEC_DATABASE_URL")
    started = cli("serve", "--port", "1", env=env)
    assert started.returncode == 2
    lines = started.stderr.strip().splitlines()
    assert any(re.search(r"AUTHSPEC_DATABSE_URL.*AUTHSPEC_DATABASE_URL", line) for line in lines), lines
    assert "Traceback" not in started.stderr
