"""Processes of the benchmark: servers pinned to one core, the load generator to the other.

``Server`` starts uvicorn (an app factory of ``bench.factories``), Prism or better-auth, waits
until it answers and stops it; ``Tools`` finds (and where it can, installs) wrk, Prism and
better-auth (``npm ci`` of ``bench/better-auth``'s lockfile into ``build/better-auth``) and says
what it fell back to; ``load`` runs one measurement of an ``Op`` and returns its ``BENCHJSON`` report.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.ops import Op

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
PRISM_PREFIX = ROOT / "build" / "prism"
PRISM_PACKAGE = "@stoplight/prism-cli@5"
BETTER_AUTH_SOURCE = ROOT / "bench" / "better-auth"
BETTER_AUTH_PREFIX = ROOT / "build" / "better-auth"
SERVER_CORE, LOAD_CORE = "0", "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class Tools:
    pin: bool = False
    wrk: str | None = None
    prism: str | None = None
    better_auth: Path | None = None  # its server script, installed next to its node_modules
    notes: list[str] = field(default_factory=list)

    @classmethod
    def find(cls, *, want_prism: bool, want_better_auth: bool = False) -> Tools:
        tools = cls()
        tools.pin = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
        if not tools.pin:
            tools.notes.append("taskset or a second core is missing: server and load generator are not pinned")
        tools.wrk = shutil.which("wrk") or _install_wrk()
        if tools.wrk is None:
            tools.notes.append(
                "wrk is not installed and could not be: the Python load generator (bench.loadgen) is used"
            )
        if want_prism:
            tools.prism = _prism()
            if tools.prism is None:
                tools.notes.append(f"Prism ({PRISM_PACKAGE}) could not be installed: the Prism rows are skipped")
        if want_better_auth:
            tools.better_auth = _better_auth()
            if tools.better_auth is None:
                tools.notes.append("better-auth could not be installed (npm ci): its rows are skipped")
        return tools

    def pinned(self, core: str, command: list[str]) -> list[str]:
        return ["taskset", "-c", core, *command] if self.pin else command


def _install_wrk() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    say("installing wrk (apt-get install -y wrk)")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "timeout": 300}
    try:
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, **quiet).returncode != 0:  # type: ignore[call-overload]
            subprocess.run(["apt-get", "update", "-q"], check=False, **quiet)  # type: ignore[call-overload]
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, **quiet)  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


def _prism() -> str | None:
    binary = PRISM_PREFIX / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return str(binary)
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None
    say(f"installing Prism ({PRISM_PACKAGE}) into {PRISM_PREFIX.relative_to(ROOT)}")
    PRISM_PREFIX.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["npm", "install", "--prefix", str(PRISM_PREFIX), "--no-audit", "--no-fund", "--silent", PRISM_PACKAGE],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return str(binary) if binary.exists() else None


def _better_auth() -> Path | None:
    """better-auth's server script in ``build/better-auth``, installed from the committed lockfile."""
    lock = BETTER_AUTH_SOURCE / "package-lock.json"
    installed = BETTER_AUTH_PREFIX / "package-lock.json"
    modules = BETTER_AUTH_PREFIX / "node_modules"
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None
    BETTER_AUTH_PREFIX.mkdir(parents=True, exist_ok=True)
    if not (modules.is_dir() and installed.exists() and installed.read_bytes() == lock.read_bytes()):
        say(f"installing better-auth (npm ci) into {BETTER_AUTH_PREFIX.relative_to(ROOT)}; it builds better-sqlite3")
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(BETTER_AUTH_SOURCE / name, BETTER_AUTH_PREFIX / name)
        try:
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=BETTER_AUTH_PREFIX,
                check=False,
                capture_output=True,
                text=True,
                timeout=900,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            say(f"npm ci failed: {done.stderr.strip()[-300:]}")
            return None
    script = BETTER_AUTH_PREFIX / "server.mjs"
    shutil.copyfile(BETTER_AUTH_SOURCE / "server.mjs", script)  # resolves its imports from node_modules there
    return script


class Server:
    """One server process on a free loopback port, pinned to the server core."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], tools: Tools, ready_path: str) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [part.replace("{port}", str(self.port)) for part in command]
        self.env = {**os.environ, **env}
        self.tools = tools
        self.ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def uvicorn(cls, name: str, factory: str, env: dict[str, str], tools: Tools, ready_path: str) -> Server:
        command = [
            sys.executable, "-m", "uvicorn", "--factory", f"bench.factories:{factory}",
            "--host", "127.0.0.1", "--port", "{port}", "--lifespan", "on", "--no-access-log",
            "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
        ]  # fmt: skip
        return cls(name, command, env, tools, ready_path)

    def __enter__(self) -> Server:
        BUILD.mkdir(parents=True, exist_ok=True)
        log = (BUILD / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(
            self.tools.pinned(SERVER_CORE, self.command), cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {BUILD / (self.name + '.log')}")
            if self._answers():
                return self
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not answer within 60 s")

    def _answers(self) -> bool:
        import httpx

        try:
            httpx.get(self.url + self.ready_path, timeout=2, headers={"Authorization": "Bearer x"})
        except httpx.HTTPError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def load(tools: Tools, url: str, op: Op, tokens: list[str], *, connections: int, duration: float) -> dict[str, object]:
    """One measurement: ``connections`` connections for ``duration`` seconds from the load core."""
    BUILD.mkdir(parents=True, exist_ok=True)
    token_file, spec_file = BUILD / "tokens.txt", BUILD / "request.spec"
    token_file.write_text("\n".join(tokens) + "\n")
    spec_file.write_text(op.spec_lines())
    if tools.wrk:
        command = [
            tools.wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
            "-s", str(ROOT / "bench" / "pool.lua"), url, "--", str(spec_file), str(token_file),
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "bench.loadgen", url, str(spec_file), str(token_file),
            "--connections", str(connections), "--duration", str(duration),
        ]  # fmt: skip
    done = subprocess.run(
        tools.pinned(LOAD_CORE, command), cwd=ROOT, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCHJSON "):
            report: dict[str, object] = json.loads(line[len("BENCHJSON ") :])
            return report
    raise RuntimeError(f"the load generator reported nothing: {done.stdout[-500:]} {done.stderr[-500:]}")
