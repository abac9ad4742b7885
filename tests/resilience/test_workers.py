"""``authspec serve --workers 2``: requests are answered by two worker processes of the one server,
which start with their migrations off (the parent migrated once), and a SIGTERM stops them all
cleanly. Which process answers a connection is read from ``/proc``: the worker holding the
server side of that TCP connection (no API exposes it). On SQLite and, when given, PostgreSQL.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import ServerProcess, authspec_cli
from tests.resilience.conftest import server_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the process tree from Linux's /proc"),
]

#: Connections tried until both workers have answered one (the kernel picks the acceptor), and
#: how many clients make them at once.
MAX_CONNECTIONS = 1000
CLIENTS = 16


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def workers_of(pid: int) -> set[int]:
    """The uvicorn worker processes of the server ``pid`` (multiprocessing's spawned children)."""
    found = set()
    for child in children(pid):
        try:
            command = (Path("/proc") / str(child) / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.add(child)
    return found


def environment_of(pid: int) -> dict[str, str]:
    raw = (Path("/proc") / str(pid) / "environ").read_bytes()
    return dict(item.decode().partition("=")[::2] for item in raw.split(b"\0") if item)


def socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server side of the loopback connection from ``client_port``."""
    want_local, want_remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want_local and fields[2] == want_remote:
            return fields[9]
    return None


def holder(pids: set[int], inode: str) -> int | None:
    """Which of ``pids`` has the socket ``inode`` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        fds = Path("/proc") / str(pid) / "fd"
        try:
            for fd in fds.iterdir():
                try:
                    if (fd.readlink().as_posix()) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def answered_by(port: int, workers: set[int]) -> int | None:
    """Send ``GET /healthz`` on a new keep-alive connection; the worker that answered it 200."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            assert chunk, "the server closed the connection without answering"
            head += chunk
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        inode = socket_inode(port, conn.getsockname()[1])  # still open: keep-alive
        return holder(workers, inode) if inode else None


def answers_until_both(port: int, workers: set[int]) -> list[int]:
    """The workers that answered connections made from several threads at once, until each of
    ``workers`` has answered one (at most ``MAX_CONNECTIONS``). One at a time, the same idle worker
    may win every accept; under concurrent load a busy worker leaves the next one to the other."""
    seen: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if set(seen) == workers or len(seen) >= MAX_CONNECTIONS:
                    return
            pid = answered_by(port, workers)
            assert pid is not None, "no worker of the server holds the connection"
            with lock:
                seen.append(pid)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for done in [pool.submit(client) for _ in range(CLIENTS)]:
            done.result()
    return seen


@pytest.fixture
def two_workers(database: dict[str, str], key_file: Path, tmp_path: Path) -> Callable[..., ServerProcess]:
    def start(**overrides: str) -> ServerProcess:
        env = server_env(database, key_file, 25, AUTHSPEC_MAIL_BACKEND="memory", **overrides)
        return ServerProcess(
            lambda port: [*authspec_cli("serve", port), "--workers", "2"],
            env=env,
            log=tmp_path / "serve.log",
            probe="/readyz",
        )

    return start


def test_two_workers_answer_requests_from_two_processes_that_do_not_migrate(
    two_workers: Callable[..., ServerProcess],
) -> None:
    # AUTHSPEC_WORKERS=1 as well: the flag wins.
    with two_workers(AUTHSPEC_WORKERS="1") as server:
        workers = workers_of(server.process.pid)
        assert len(workers) == 2, workers
        seen = answers_until_both(server.port, workers)
        assert set(seen) == workers
        print(f"both workers answered within {len(seen)} connection(s)")
        # The parent migrated before they started; each worker's settings turn it off.
        assert {environment_of(pid).get("AUTHSPEC_MIGRATE_ON_START") for pid in workers} == {"false"}


def test_sigterm_stops_a_two_worker_server_cleanly(two_workers: Callable[..., ServerProcess]) -> None:
    server = two_workers()
    workers = workers_of(server.process.pid)
    assert len(workers) == 2, workers
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise
    assert code == 0
    assert not any((Path("/proc") / str(pid)).exists() for pid in workers)
    log = server.log.read_text()
    assert log.count('"event": "service.stopped"') == 2, log  # each worker's lifespan closed its storage
    assert "Traceback" not in log
