"""``make bench``: three comparisons, each a ratio against a baseline measured in the same run.

(a) the mock against Prism (``-v error``, the same bundle) on GET /auth/sessions and POST
    /auth/refresh, with the mock's state and validation on; the mock on stock Connexion too;
(b) the real service against ``bench.ceiling`` (bare Starlette, same work) on SQLite and
    PostgreSQL; the service on stock Connexion too (the "before" of ``authspec.fastpath``);
(c) the service's latency with ~1 thousand and 1 million sessions stored.

Every server runs pinned to core 0 and the load generator (wrk, else ``bench.loadgen``) to core 1;
each measurement is ``BENCH_CONNECTIONS`` (32) connections for ``BENCH_DURATION`` (8) seconds
after a warm-up. Refresh measurements rotate a fresh token on every request (``pool.lua``). The
table goes to stdout and ``build/bench.json``. Targets are reported, not enforced.
Environment: ``BENCH_SECTIONS`` (``a,b,c``), ``BENCH_POSTGRES_URL`` (an admin URL; the run
creates and drops the database ``authspec_bench``; default ``postgresql://postgres@127.0.0.1:5432/postgres``),
``BENCH_MILLION`` (1000000), ``BENCH_DURATION``, ``BENCH_WARMUP`` (2), ``BENCH_CONNECTIONS``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.servers import BUILD, ROOT, Server, Tools, load, say

SESSIONS = ("GET", "/api/v1/auth/sessions", "bearer")
REFRESH = ("POST", "/api/v1/auth/refresh", "refresh")
P99_TARGET_MS = 25.0
BENCH_DB = "authspec_bench"
LIMITS = {  # every request of the benchmark comes from 127.0.0.1: the per-IP code limits would stop the setup
    "AUTHSPEC_CODE_IP_LIMIT": "1000000",
    "AUTHSPEC_VERIFY_IP_LIMIT": "1000000",
    "AUTHSPEC_CODE_RESEND_AFTER": "0",
    "AUTHSPEC_CODE_MAILBOX_HOURLY": "0",
}


class Bench:
    def __init__(self) -> None:
        self.duration = float(os.environ.get("BENCH_DURATION", "8"))
        self.warmup = float(os.environ.get("BENCH_WARMUP", "2"))
        self.connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
        self.million = int(os.environ.get("BENCH_MILLION", "1000000"))
        self.sections = set(os.environ.get("BENCH_SECTIONS", "a,b,c").split(","))
        self.tools = Tools.find(want_prism="a" in self.sections)
        self.rows: list[dict[str, Any]] = []
        self.skipped: list[str] = []

    # -- measuring -------------------------------------------------------------------------------------
    def measure(
        self,
        server: Server,
        op: tuple[str, str, str],
        tokens: list[str],
        warm: list[str] | None = None,
        prefix: str = "/api/v1",
    ) -> dict[str, Any]:
        """Warm up (on ``warm`` tokens, or the same ones), then measure; req/s and latencies in ms."""
        method, path, mode = op
        path = prefix + path.removeprefix("/api/v1")
        load(self.tools, server.url, mode, path, warm or tokens, connections=self.connections, duration=self.warmup)
        report = load(self.tools, server.url, mode, path, tokens, connections=self.connections, duration=self.duration)
        seconds = int(report["duration_us"]) / 1e6  # type: ignore[call-overload]
        errors = sum(report["errors"].values())  # type: ignore[attr-defined]
        result = {
            "rps": round(int(report["requests"]) / seconds, 1),  # type: ignore[call-overload]
            "p50_ms": round(int(report["p50_us"]) / 1000, 2),  # type: ignore[call-overload]
            "p99_ms": round(int(report["p99_us"]) / 1000, 2),  # type: ignore[call-overload]
            "requests": report["requests"],
            "errors": errors,
            "error_detail": report["errors"],
        }
        say(
            f"{server.name:<14} {method:<4} {path:<22} {result['rps']:>9.0f} req/s  "
            f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  errors {errors}"
        )
        return result

    def row(self, section: str, target: str, op: tuple[str, str, str], result: dict[str, Any], **extra: Any) -> None:
        self.rows.append(
            {
                "section": section,
                "target": target,
                "operation": f"{op[0]} {op[1].removeprefix('/api/v1')}",
                **result,
                **extra,
            }
        )

    def find(self, section: str, target: str, op: tuple[str, str, str]) -> dict[str, Any] | None:
        operation = f"{op[0]} {op[1].removeprefix('/api/v1')}"
        return next(
            (r for r in self.rows if r["section"] == section and r["target"] == target and r["operation"] == operation),
            None,
        )

    # -- (a) the mock against Prism ------------------------------------------------------------------------------
    def section_a(self) -> None:
        bundle = BUILD / "openapi.json"
        subprocess.run(
            [sys.executable, "-m", "authspec.cli", "bundle", "--out", str(bundle)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        fake = [secrets.token_urlsafe(32) for _ in range(128)]
        if self.tools.prism:
            command = [self.tools.prism, "mock", "-h", "127.0.0.1", "-p", "{port}", "-v", "error", str(bundle)]
            # Prism serves the document's paths without the servers' base path (/api/v1).
            with Server("prism", command, {}, self.tools, "/auth/sessions") as prism:
                for op in (SESSIONS, REFRESH):
                    self.row("a", "Prism -v error", op, self.measure(prism, op, fake, prefix=""))
        else:
            self.skipped.append("(a) Prism: not installed and not installable here")
        for name, factory in (("mock", "mock"), ("mock (stock Connexion)", "mock_stock")):
            with Server.uvicorn(factory, factory, LIMITS, self.tools, "/healthz") as mock:
                pools = [_mock_pool(mock.url) for _ in range(3)]
                self.row("a", name, SESSIONS, self.measure(mock, SESSIONS, pools[0][0]))
                self.row("a", name, REFRESH, self.measure(mock, REFRESH, pools[2][1], warm=pools[1][1]))

    # -- (b) and (c): the real service ---------------------------------------------------------------------------
    def section_bc(self) -> None:
        targets = [("SQLite", f"sqlite:///{BUILD / 'bench.db'}", None)]
        postgres = _postgres_url()
        if postgres:
            targets.append(("PostgreSQL", postgres, None))
        else:
            self.skipped.append("(b)/(c) PostgreSQL: not reachable (set BENCH_POSTGRES_URL)")
        for backend, url, _ in targets:
            asyncio.run(self._backend(backend, url))

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
        }
        seeder = Seeder(
            Settings(database_url=url, jwt_private_key_file=BUILD / "bench-keys.pem", mail_backend="console")
        )
        try:
            await seeder.prepare()
            await seeder.fill(1000)
            plan = [
                ("service", "service"),
                ("bare Starlette (ceiling)", "ceiling"),
                ("service (stock Connexion)", "service_stock"),
            ]
            if "b" not in self.sections:
                plan = plan[:1]
            for name, factory in plan:
                await self._service_runs("b", f"{name} · {backend}", factory, env, seeder, backend)
            if "c" in self.sections:
                started = time.monotonic()
                added = await seeder.fill(self.million)
                say(f"{backend}: {added} filler sessions added in {time.monotonic() - started:.1f} s")
                await self._service_runs("c", f"service · {backend} · 1M sessions", "service", env, seeder, backend)
        finally:
            await seeder.close()

    async def _service_runs(
        self, section: str, name: str, factory: str, env: dict[str, str], seeder: Any, backend: str
    ) -> None:
        with Server.uvicorn(factory, factory, env, self.tools, "/api/v1/auth/sessions") as server:
            stored = await seeder.count()
            listing = await seeder.mint()
            self.row(
                section,
                name,
                SESSIONS,
                self.measure(server, SESSIONS, listing.access),
                backend=backend,
                sessions_stored=stored,
            )
            warm, pool = await seeder.mint(), await seeder.mint()
            result = self.measure(server, REFRESH, pool.refresh, warm=warm.refresh)
            self.row(section, name, REFRESH, result, backend=backend, sessions_stored=await seeder.count())

    # -- report --------------------------------------------------------------------------------------------------
    def ratios(self) -> None:
        def ratio(
            row: dict[str, Any], base: dict[str, Any] | None, label: str, goal: float | None, key: str = "rps"
        ) -> None:
            if base is None or not base.get(key):
                return
            value = row[key] / base[key]
            row["vs"], row["ratio"] = label, round(value, 2)
            if goal is not None:
                row["goal"] = f"≤ {goal}×" if key != "rps" else f"≥ {goal}×"
                row["met"] = value <= goal if key != "rps" else value >= goal

        def speedup(row: dict[str, Any], after: dict[str, Any] | None) -> None:
            if after is not None and row["rps"]:
                row["vs"], row["ratio"] = (
                    "authspec.fastpath speed-up (after ÷ this)",
                    round(after["rps"] / row["rps"], 2),
                )

        for row in self.rows:
            op = (row["operation"].split()[0], "/api/v1" + row["operation"].split()[1], "")
            target, section = row["target"], row["section"]
            if section == "a" and target == "mock":
                ratio(row, self.find("a", "Prism -v error", op), "Prism -v error", 2.0)
            elif section == "a" and target == "mock (stock Connexion)":
                speedup(row, self.find("a", "mock", op))
            elif section == "b" and target.startswith("service ·"):
                ratio(row, self.find("b", target.replace("service", "bare Starlette (ceiling)", 1), op), "ceiling", 0.5)
            elif section == "b" and target.startswith("service (stock"):
                speedup(row, self.find("b", target.replace("service (stock Connexion)", "service", 1), op))
            elif section == "c":
                small = self.find("b", target.replace(" · 1M sessions", ""), op)
                ratio(row, small, "~1k sessions (p50 latency)", 1.2, key="p50_ms")
            row["p99_ok"] = row["p99_ms"] < P99_TARGET_MS

    def report(self, load_before: str, load_after: str) -> dict[str, Any]:
        self.ratios()
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
        }
        return {"machine": machine, "notes": self.tools.notes, "skipped": self.skipped, "rows": self.rows}


def _mock_pool(url: str) -> tuple[list[str], list[str]]:
    """32 users with 4 sessions each on a running mock: (access tokens, refresh tokens)."""
    import httpx

    access, refresh = [], []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(32):
            email = f"pool{n}@bench.example"
            for _ in range(4):
                client.post("/api/v1/auth/email/request-code", json={"email": email}).raise_for_status()
                code = client.get("/__mock/outbox", params={"to": email}).json()["data"][-1]["code"]
                data = client.post("/api/v1/auth/email/verify", json={"email": email, "code": code}).json()["data"]
                if data["status"] == "registration_required":
                    body = {"registrationToken": data["registrationToken"], "firstName": "Pool", "lastName": "User"}
                    data = client.post("/api/v1/auth/register", json=body).json()["data"]
                access.append(data["tokens"]["accessToken"])
                refresh.append(data["tokens"]["refreshToken"])
    return access, refresh


def _postgres_url() -> str | None:
    """A fresh ``authspec_bench`` database on the server of ``BENCH_POSTGRES_URL``, or None."""
    admin = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

    async def create() -> str:
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(admin, timeout=5)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            await conn.execute(f"CREATE DATABASE {BENCH_DB}")
        finally:
            await conn.close()
        base, _, _ = admin.rpartition("/")
        return f"{base}/{BENCH_DB}"

    try:
        return asyncio.run(create())
    except Exception as exc:
        say(f"PostgreSQL is not usable ({type(exc).__name__}: {exc})")
        return None


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


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"{'':3} {'target':<40} {'operation':<19} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'err':>4}  "
        f"{'ratio':>6}  vs / goal",
        "-" * 118,
    ]
    for row in result["rows"]:
        ratio = f"{row['ratio']:.2f}×" if "ratio" in row else ""
        goal = ""
        if "vs" in row:
            goal = row["vs"] + (f" (goal {row['goal']}: {'met' if row['met'] else 'NOT met'})" if "goal" in row else "")
        flag = "" if row["p99_ok"] else " p99≥25ms"
        lines.append(
            f"({row['section']}) {row['target']:<40} {row['operation']:<19} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>7.2f} {row['errors']:>4}  {ratio:>6}  {goal}{flag}"
        )
    machine = result["machine"]
    pinning = "pinned (server core 0, load core 1)" if machine["pinned"] else "not pinned"
    lines.append("")
    lines.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores; load average {machine['loadavg_before']} before, "
        f"{machine['loadavg_after']} after; {machine['load_generator']}, {machine['connections']} connections, "
        f"{machine['duration_s']:g} s per run, {pinning}"
    )
    lines += [f"note: {note}" for note in result["notes"]] + [f"skipped: {item}" for item in result["skipped"]]
    return "\n".join(lines)


def main() -> int:
    bench = Bench()
    for note in bench.tools.notes:
        say(note)
    load_before = _loadavg()
    say(f"load average {load_before}; {bench.duration:g} s per run, {bench.connections} connections")
    started = time.monotonic()
    for wanted, section in (({"a"}, bench.section_a), ({"b", "c"}, bench.section_bc)):
        if bench.sections & wanted:
            try:
                section()
            except Exception as exc:  # report what was measured; say what failed
                say(f"a section failed: {type(exc).__name__}: {str(exc)[:300]}")
                bench.skipped.append(f"({'/'.join(sorted(wanted))}) failed: {type(exc).__name__}: {str(exc)[:200]}")
    result = bench.report(load_before, _loadavg())
    result["machine"]["wall_seconds"] = round(time.monotonic() - started)
    out = ROOT / "build" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    print(f"\n(written to {out.relative_to(ROOT)}; {result['machine']['wall_seconds']} s)")
    return 0
