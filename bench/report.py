"""The benchmark's report: ratios of every row, the issue's targets (reported, never asserted), the table.

Every row is a median over interleaved rounds (``bench.run``). A row's ratios are its req/s over
that of: its peer (the service against better-auth, the mock against Prism, both in the same
run), the bare-Starlette ceiling ("Connexion cost": the service without Connexion), the Python
limit reference (``bench.limit``, on SQLite) and the same row of the previous ``build/bench.json``
when there is one. The targets are issue 14's; ``TODAY`` holds the refresh rates it measured
before the storage rework, which "3× today's" refers to.
"""

from __future__ import annotations

from typing import Any

P99_MS = 50.0  # refresh p99 target, at TARGET_CONNECTIONS connections
TARGET_CONNECTIONS = 32
PEER_GOAL = 2.0  # service sessions and me over better-auth on SQLite
MOCK_GOAL = 1.0  # mock over Prism on sessions, me and refresh
REFRESH_GOAL = 3.0  # refresh req/s over TODAY
TODAY = {"SQLite": 216.0, "PostgreSQL": 236.0}  # issue 14: refresh req/s, 32 connections, medians of 5 rounds

PRISM = "Prism -v error"
MOCK = "mock"
SERVICE = "service"
BETTER_AUTH = "better-auth"
CEILING = "ceiling (bare Starlette)"
LIMIT = "limit (bare ASGI)"
VERIFIER = "resource server (authspec.verify)"
#: Issue 15's rows, set beside the service's own GET /auth/me (``x_me``).
BESIDE_ME = ("POST /auth/introspect", "GET /protected")


def target(kind: str, backend: str = "") -> str:
    """A row's target name: ``kind``, and `` · backend`` when it has one."""
    return f"{kind} · {backend}" if backend else kind


def _find(rows: list[dict[str, Any]], section: str, name: str, like: str) -> dict[str, Any] | None:
    """The row of ``name`` in ``section`` measuring the operation ``like`` (its own, or the one it stands for)."""
    return next(
        (r for r in rows if r["section"] == section and r["target"] == name and r["like"] == like),
        None,
    )


def _ratio(row: dict[str, Any], base: dict[str, Any] | None, key: str) -> None:
    if base is not None and base.get("rps") and row is not base:
        row[key] = round(row["rps"] / base["rps"], 2)


def add_ratios(rows: list[dict[str, Any]], previous: list[dict[str, Any]] | None) -> None:
    before = {(r.get("target"), r.get("operation")): r for r in previous or []}
    for row in rows:
        kind, backend, like, section = row["kind"], row.get("backend", ""), row["like"], row["section"]
        if kind == MOCK:
            _ratio(row, _find(rows, section, PRISM, like), "x_peer")
        elif kind == SERVICE and section == "b":
            _ratio(row, _find(rows, section, target(BETTER_AUTH, backend), like), "x_peer")
            _ratio(row, _find(rows, section, target(CEILING, backend), like), "x_ceiling")
        elif kind == SERVICE and section == "c":
            small = _find(rows, "b", target(SERVICE, backend), like)
            if small is not None and small.get("p50_ms"):
                row["p50_vs_1k"] = round(row["p50_ms"] / small["p50_ms"], 2)
        if like in BESIDE_ME:
            _ratio(row, _find(rows, "b", target(SERVICE, backend), "GET /auth/me"), "x_me")
        elif kind != LIMIT:
            _ratio(row, _find(rows, "b", target(LIMIT, "SQLite"), like), "x_limit")
        _ratio(row, before.get((row["target"], row["operation"])), "x_prev")


def targets(rows: list[dict[str, Any]], connections: int) -> list[dict[str, Any]]:
    """Issue 14's targets: what was measured, the goal, met or not, and the ratio to the limit."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: str, met: bool | None, row: dict[str, Any] | None) -> None:
        out.append(
            {
                "target": name,
                "value": value,
                "goal": goal,
                "met": met,
                "x_limit": None if row is None else row.get("x_limit"),
            }
        )

    for like, theirs in (("GET /auth/sessions", "list-sessions"), ("GET /auth/me", "get-session")):
        ours = _find(rows, "b", target(SERVICE, "SQLite"), like)
        ratio = None if ours is None else ours.get("x_peer")
        add(
            f"service {like} over better-auth {theirs} (SQLite)",
            ratio,
            f"≥ {PEER_GOAL:g}×",
            None if ratio is None else ratio >= PEER_GOAL,
            ours,
        )
    for backend in ("SQLite", "PostgreSQL"):
        ours = _find(rows, "b", target(SERVICE, backend), "POST /auth/refresh")
        p99 = None if ours is None else ours["p99_ms"]
        comparable = connections == TARGET_CONNECTIONS
        add(
            f"service POST /auth/refresh p99 ms, {backend}"
            + ("" if comparable else f" (measured at {connections} connections, not {TARGET_CONNECTIONS})"),
            p99,
            f"< {P99_MS:g} ms at {TARGET_CONNECTIONS} connections",
            None if p99 is None or not comparable else p99 < P99_MS,
            ours,
        )
        rps = None if ours is None else ours["rps"]
        add(
            f"service POST /auth/refresh req/s over issue 14's {TODAY[backend]:g}, {backend}",
            None if rps is None else round(rps / TODAY[backend], 2),
            f"≥ {REFRESH_GOAL:g}× ({REFRESH_GOAL * TODAY[backend]:g} req/s)",
            None if rps is None else rps >= REFRESH_GOAL * TODAY[backend],
            ours,
        )
    for like in ("GET /auth/sessions", "GET /auth/me", "POST /auth/refresh"):
        mock = _find(rows, "a", MOCK, like)
        ratio = None if mock is None else mock.get("x_peer")
        add(f"mock {like} over Prism", ratio, f"≥ {MOCK_GOAL:g}×", None if ratio is None else ratio >= MOCK_GOAL, mock)
    return out


def _x(value: Any) -> str:
    return f"{value:.2f}×" if isinstance(value, int | float) else ""


def format_table(result: dict[str, Any]) -> str:
    head = (
        f"{'':3} {'target':<40} {'operation':<27} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>8} {'err':>4} "
        f"{'×peer':>6} {'×ceil':>6} {'×limit':>6} {'×prev':>6}"
    )
    lines = [head, "-" * len(head)]
    for row in result["rows"]:
        extra = f"  p50 {row['p50_vs_1k']:.2f}× of ~1k sessions" if "p50_vs_1k" in row else ""
        extra += f"  {row['x_me']:.2f}× the service's GET /auth/me" if "x_me" in row else ""
        lines.append(
            f"({row['section']}) {row['target']:<40} {row['operation']:<27} {row['rps']:>8.0f} {row['p50_ms']:>7.2f} "
            f"{row['p99_ms']:>8.2f} {row['errors']:>4} {_x(row.get('x_peer')):>6} {_x(row.get('x_ceiling')):>6} "
            f"{_x(row.get('x_limit')):>6} {_x(row.get('x_prev')):>6}{extra}"
        )
    lines += ["", "targets (issue 14; reported, not asserted):"]
    for item in result["targets"]:
        value = item["value"]
        shown = "—" if value is None else (f"{value:g}" if "p99" in item["target"] else f"{value:.2f}×")
        verdict = "not measured" if item["met"] is None else ("met" if item["met"] else "NOT met")
        limit = f"; {_x(item['x_limit'])} the limit" if item.get("x_limit") else ""
        lines.append(f"  {item['target']}: {shown} (goal {item['goal']}): {verdict}{limit}")
    machine = result["machine"]
    pinning = "pinned (servers core 0, load core 1)" if machine["pinned"] else "not pinned"
    lines += [
        "",
        f"machine: {machine['cpu']}, {machine['cores']} cores; load average {machine['loadavg_before']} before, "
        f"{machine['loadavg_after']} after; {machine['load_generator']}, {machine['connections']} connections, "
        f"{machine['duration_s']:g} s per measurement, medians of {machine['rounds']} interleaved rounds, {pinning}",
        "×peer: over better-auth (service) or Prism (mock), same run; ×ceil: over the bare-Starlette ceiling "
        "(Connexion cost); ×limit: over the Python limit reference on SQLite; ×prev: over the previous "
        f"build/bench.json{' (' + result['previous'] + ')' if result.get('previous') else ' (none)'}",
    ]
    lines += [f"note: {note}" for note in result["notes"]] + [f"skipped: {item}" for item in result["skipped"]]
    return "\n".join(lines)
