"""``make bench``: the service and the mock against real peers, in one run, alternating, with ratios.

(a) the mock against Prism (``-v error``, the same bundle) on GET /auth/sessions, GET /auth/me
    and POST /auth/refresh, with the mock's state and validation on;
(b) the service on SQLite against better-auth (``bench/better-auth``: list-sessions and
    get-session with a bearer session token), the Python limit reference (``bench.limit``) and
    the bare-Starlette ceiling (``bench.ceiling``, the "Connexion cost"); the service and the
    ceiling on PostgreSQL too;
(c) the service's latency with ~1 thousand and 1 million sessions stored (one round).

The targets of one comparison run side by side and are measured in interleaved rounds (A, B, C,
then C, B, A, ...): each row is the median of ``BENCH_ROUNDS`` measurements, so drifting load
on the shared machine falls on all of them alike. Every server runs pinned to core 0 and the load
generator (wrk, else ``bench.loadgen``) to core 1; each measurement is ``BENCH_CONNECTIONS`` (32)
connections for ``BENCH_DURATION`` (5) seconds, after one ``BENCH_WARMUP`` (2) s warm-up per
target. A refresh measurement rotates a fresh pool of tokens on every request. The table goes to
stdout and ``build/bench.json`` (the previous one is read first, for the ×prev ratios); targets
are reported, not enforced. Environment: ``BENCH_SECTIONS`` (``a,b,c``), ``BENCH_ROUNDS`` (3),
``BENCH_POSTGRES_URL`` (an admin URL; the run creates and drops the database ``authspec_bench``;
default ``postgresql://postgres@127.0.0.1:5432/postgres``), ``BENCH_MILLION`` (1000000),
``BENCH_STOCK=1`` (the service and mock on stock Connexion too), ``BENCH_DURATION``,
``BENCH_WARMUP``, ``BENCH_CONNECTIONS``.

A further row is one ``Entry``: a running ``Server``, an ``Op`` (any method, path, headers and
body; see ``bench.ops``, e.g. ``ops.introspect`` and ``ops.protected``) and a source of tokens,
added to a ``compare`` list below.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import ops, report
from bench.factories import BENCH_CLIENT_ID, BENCH_CLIENT_SECRET
from bench.ops import Op
from bench.peers import better_auth_pool, better_auth_server, better_auth_version, check, mock_pool
from bench.report import BETTER_AUTH, CEILING, LIMIT, MOCK, PRISM, SERVICE, VERIFIER, target
from bench.servers import BUILD, ROOT, Server, Tools, load, say

BENCH_DB = "authspec_bench"
LIMITS = {  # every request of the benchmark comes from 127.0.0.1: the per-IP code limits would stop the setup
    "AUTHSPEC_CODE_IP_LIMIT": "1000000",
    "AUTHSPEC_VERIFY_IP_LIMIT": "1000000",
    "AUTHSPEC_CODE_RESEND_AFTER": "0",
    "AUTHSPEC_CODE_MAILBOX_HOURLY": "0",
}

Tokens = Callable[[], Awaitable[list[str]]]


def fixed(tokens: list[str]) -> Tokens:
    """The same pool for every measurement (bearer tokens are not consumed)."""

    async def same() -> list[str]:
        return tokens

    return same


@dataclass
class Entry:
    kind: str  # SERVICE, MOCK, ... (bench.report)
    server: Server
    op: Op
    tokens: Tokens  # awaited before every measurement: a rotating op needs a fresh pool each time
    like: str = ""  # the authspec operation a peer's op stands for (default: its own)
    backend: str = ""


class Bench:
    def __init__(self) -> None:
        self.duration = float(os.environ.get("BENCH_DURATION", "5"))
        self.warmup = float(os.environ.get("BENCH_WARMUP", "2"))
        self.connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
        self.rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
        self.million = int(os.environ.get("BENCH_MILLION", "1000000"))
        self.stock = os.environ.get("BENCH_STOCK", "") == "1"
        self.sections = set(os.environ.get("BENCH_SECTIONS", "a,b,c").split(","))
        self.tools = Tools.find(want_prism="a" in self.sections, want_better_auth="b" in self.sections)
        self.rows: list[dict[str, Any]] = []
        self.skipped: list[str] = []

    # -- measuring -------------------------------------------------------------------------------------
    def measure(self, entry: Entry, tokens: list[str], duration: float) -> dict[str, Any]:
        report_ = load(self.tools, entry.server.url, entry.op, tokens, connections=self.connections, duration=duration)
        seconds = int(report_["duration_us"]) / 1e6  # type: ignore[call-overload]
        errors: dict[str, int] = report_["errors"]  # type: ignore[assignment]
        return {
            "rps": round(int(report_["requests"]) / seconds, 1),  # type: ignore[call-overload]
            "p50_ms": round(int(report_["p50_us"]) / 1000, 2),  # type: ignore[call-overload]
            "p99_ms": round(int(report_["p99_us"]) / 1000, 2),  # type: ignore[call-overload]
            "requests": report_["requests"],
            "errors": sum(errors.values()),
            "error_detail": errors,
        }

    async def compare(self, section: str, entries: list[Entry], rounds: int | None = None, **extra: Any) -> None:
        """Warm every entry up, then measure them in interleaved rounds; one row each, of medians."""
        rounds = rounds or self.rounds
        for entry in entries:
            warm = list(await entry.tokens())
            # One request checked first: 2xx with the expected data (a rotated token leaves the pool).
            check(entry.server.url, entry.op, warm.pop(0) if entry.op.mode == "rotate" else warm[0])
            self.measure(entry, warm, self.warmup)
        runs: list[list[dict[str, Any]]] = [[] for _ in entries]
        for n in range(rounds):
            order = list(enumerate(entries))
            for i, entry in order if n % 2 == 0 else reversed(order):
                result = self.measure(entry, await entry.tokens(), self.duration)
                runs[i].append(result)
                say(
                    f"round {n + 1}/{rounds} {entry.server.name:<28} {entry.op.label:<27} {result['rps']:>8.0f} req/s"
                    f"  p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  errors {result['errors']}"
                )
        for entry, results in zip(entries, runs, strict=True):
            row = {
                "section": section,
                "target": target(entry.kind, entry.backend),
                "kind": entry.kind,
                "backend": entry.backend,
                "operation": entry.op.label,
                "like": entry.like or entry.op.label,
                **{key: statistics.median(r[key] for r in results) for key in ("rps", "p50_ms", "p99_ms")},
                "errors": sum(r["errors"] for r in results),
                "rounds": results,
                **extra,
            }
            if row["errors"]:
                say(f"{row['target']} {row['operation']}: {row['errors']} errors {results[-1]['error_detail']}")
            self.rows.append(row)

    # -- (a) the mock against Prism ------------------------------------------------------------------------------
    async def section_a(self) -> None:
        bundle = BUILD / "openapi.json"
        subprocess.run(
            [sys.executable, "-m", "authspec.cli", "bundle", "--out", str(bundle)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        fake = [secrets.token_urlsafe(32) for _ in range(128)]
        mocks = [(MOCK, "mock")] + ([("mock (stock Connexion)", "mock_stock")] if self.stock else [])
        with ExitStack() as stack:
            prism = None
            if self.tools.prism:
                command = [self.tools.prism, "mock", "-h", "127.0.0.1", "-p", "{port}", "-v", "error", str(bundle)]
                # Prism serves the document's paths without the servers' base path (/api/v1).
                prism = stack.enter_context(Server("prism", command, {}, self.tools, "/auth/sessions"))
            else:
                self.skipped.append("(a) Prism: not installed and not installable here")
            servers = [
                (name, stack.enter_context(Server.uvicorn(name, factory, LIMITS, self.tools, "/healthz")))
                for name, factory in mocks
            ]
            listing = {name: mock_pool(server.url)[0] for name, server in servers}
            for op in (ops.SESSIONS, ops.ME, ops.REFRESH):
                entries = [Entry(PRISM, prism, ops.PRISM[op.label], fixed(fake))] if prism else []
                for name, server in servers:
                    tokens = _mock_refresh(server.url) if op.mode == "rotate" else fixed(listing[name])
                    entries.append(Entry(name, server, op, tokens))
                await self.compare("a", entries)

    # -- (b) and (c): the real service ---------------------------------------------------------------------------
    async def section_bc(self) -> None:
        targets = [("SQLite", f"sqlite:///{BUILD / 'bench.db'}")]
        postgres = await _postgres_url()
        if postgres:
            targets.append(("PostgreSQL", postgres))
        else:
            self.skipped.append("(b)/(c) PostgreSQL: not reachable (set BENCH_POSTGRES_URL)")
        for backend, url in targets:
            await self._backend(backend, url)

    async def _backend(self, backend: str, url: str) -> None:
        from authspec.settings import Settings
        from bench.seed import Seeder

        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(str(BUILD / "bench.db") + suffix).unlink(missing_ok=True)
        env = {
            **LIMITS,
            "AUTHSPEC_DATABASE_URL": url,
            "AUTHSPEC_JWT_PRIVATE_KEY_FILE": str(BUILD / "bench-keys.pem"),
            "AUTHSPEC_MAIL_BACKEND": "console",
            # As in production (AUTHSPEC_ENV=prod's default): the contract suite validates every answer.
            "AUTHSPEC_VALIDATE_RESPONSES": "false",
            "AUTHSPEC_INTROSPECTION_CLIENTS": f"{BENCH_CLIENT_ID}:{hashlib.sha256(BENCH_CLIENT_SECRET.encode()).hexdigest()}",  # noqa: E501
        }
        # The seeder's bulk inserts of a million rows outlast the service's 5 s statement timeout.
        seeder = Seeder(
            Settings(
                database_url=url,
                jwt_private_key_file=BUILD / "bench-keys.pem",
                mail_backend="console",
                database_statement_timeout=600,
            )
        )

        async def minted() -> list[str]:
            return (await seeder.mint()).refresh

        try:
            await seeder.prepare()
            await seeder.fill(1000)
            extra = {"sessions_stored": await seeder.count()}
            with ExitStack() as stack:

                def up(kind: str, factory: str) -> Server:
                    name = target(kind, backend)
                    return stack.enter_context(Server.uvicorn(name, factory, env, self.tools, "/api/v1/auth/sessions"))

                service = up(SERVICE, "service")
                ours = [(SERVICE, service)]
                peers: dict[str, tuple[Server, list[str]]] = {}
                if "b" in self.sections:
                    ours.append((CEILING, up(CEILING, "ceiling")))
                    if self.stock:
                        ours.append(("service (stock Connexion)", up("service (stock Connexion)", "service_stock")))
                    if backend == "SQLite":
                        ours.insert(1, (LIMIT, up(LIMIT, "limit")))
                        if self.tools.better_auth:
                            server = stack.enter_context(better_auth_server(self.tools, BUILD / "better-auth.db"))
                            peers[BETTER_AUTH] = (server, better_auth_pool(server.url))
                            self.tools.notes.append(
                                f"better-auth {better_auth_version(self.tools)} on Node {_node_version()}, "
                                "better-sqlite3 (WAL), bearer plugin, rate limit off"
                            )
                        else:
                            self.skipped.append("(b) better-auth: not installed and not installable here")
                    bearer = fixed((await seeder.mint()).access)
                    for op, theirs in ((ops.SESSIONS, ops.BA_LIST), (ops.ME, ops.BA_SESSION)):
                        entries = [Entry(kind, server, op, bearer, backend=backend) for kind, server in ours]
                        for kind, (server, tokens) in peers.items():
                            entries.insert(1, Entry(kind, server, theirs, fixed(tokens), op.label, backend))
                        await self.compare("b", entries, **extra)
                    entries = [Entry(kind, server, ops.REFRESH, minted, backend=backend) for kind, server in ours]
                    await self.compare("b", entries, **extra)
                    # Issue 15: introspection and local verification beside the service's own GET /auth/me.
                    bearer = fixed((await seeder.mint()).access)  # minting for refresh ended the earlier sessions
                    verifying = {**env, "BENCH_VERIFY_URL": service.url}
                    guard = stack.enter_context(
                        Server.uvicorn(target(VERIFIER, backend), "protected", verifying, self.tools, "/healthz")
                    )
                    introspect = ops.introspect(BENCH_CLIENT_ID, BENCH_CLIENT_SECRET)
                    entries = [
                        Entry(SERVICE, service, introspect, bearer, backend=backend),
                        Entry(VERIFIER, guard, ops.protected(), bearer, backend=backend),
                    ]
                    await self.compare("b", entries, **extra)
                if "c" in self.sections:
                    started = time.monotonic()
                    added = await seeder.fill(self.million)
                    say(f"{backend}: {added} filler sessions added in {time.monotonic() - started:.1f} s")
                    extra = {"sessions_stored": await seeder.count()}
                    bearer = fixed((await seeder.mint()).access)
                    for op, source in ((ops.SESSIONS, bearer), (ops.REFRESH, minted)):
                        entry = Entry(SERVICE, service, op, source, backend=f"{backend} · 1M sessions")
                        await self.compare("c", [entry], rounds=1, **extra)
        finally:
            await seeder.close()

    # -- report --------------------------------------------------------------------------------------------------
    def report(self, load_before: str, load_after: str, previous: dict[str, Any] | None) -> dict[str, Any]:
        self.rows.sort(key=lambda row: row["section"])  # (c) of SQLite was measured before (b) of PostgreSQL
        report.add_ratios(self.rows, None if previous is None else previous.get("rows"))
        machine = {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
            "python": platform.python_version(),
            "load_generator": "wrk" if self.tools.wrk else "bench.loadgen (Python)",
            "pinned": self.tools.pin,
            "connections": self.connections,
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "rounds": self.rounds,
        }
        return {
            "machine": machine,
            "notes": self.tools.notes,
            "skipped": self.skipped,
            "previous": None if previous is None else previous.get("machine", {}).get("finished", "earlier run"),
            "rows": self.rows,
            "targets": report.targets(self.rows, self.connections),
        }


def _mock_refresh(url: str) -> Tokens:
    async def fresh() -> list[str]:
        return mock_pool(url)[1]

    return fresh


async def _postgres_url() -> str | None:
    """A fresh ``authspec_bench`` database on the server of ``BENCH_POSTGRES_URL``, or None."""
    admin = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            await conn.execute(f"CREATE DATABASE {BENCH_DB}")
        finally:
            await conn.close()
    except Exception as exc:
        say(f"PostgreSQL is not usable ({type(exc).__name__}: {exc})")
        return None
    base, _, _ = admin.rpartition("/")
    return f"{base}/{BENCH_DB}"


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _previous(path: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found.get("rows"), list) and found["rows"] else None


def main() -> int:
    bench = Bench()
    for note in bench.tools.notes:
        say(note)
    out = ROOT / "build" / "bench.json"
    previous = _previous(out)
    load_before = _loadavg()
    say(
        f"load average {load_before}; {bench.duration:g} s per measurement, {bench.rounds} rounds, "
        f"{bench.connections} connections"
    )
    started = time.monotonic()
    for wanted, section in (({"a"}, bench.section_a), ({"b", "c"}, bench.section_bc)):
        if bench.sections & wanted:
            try:
                asyncio.run(section())
            except Exception as exc:  # report what was measured; say what failed
                say(f"a section failed: {type(exc).__name__}: {str(exc)[:300]}")
                bench.skipped.append(f"({'/'.join(sorted(wanted))}) failed: {type(exc).__name__}: {str(exc)[:200]}")
    load_after = _loadavg()
    result = bench.report(load_before, load_after, previous)
    result["machine"]["wall_seconds"] = round(time.monotonic() - started)
    result["machine"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report.format_table(result))
    print(f"\n(written to {out.relative_to(ROOT)}; {result['machine']['wall_seconds']} s)")
    return 0
