"""The fallback load generator (when wrk is not installed): the same pools and report as ``pool.lua``.

``python -m bench.loadgen URL MODE PATH TOKENS_FILE --connections N --duration S`` keeps N
keep-alive HTTP/1.1 connections busy for S seconds with uvloop and prints one ``BENCHJSON`` line.
It is slower than wrk (one Python core), so its figures are lower bounds of what a server can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from urllib.parse import urlsplit

_SUCCESSOR = re.compile(rb'"refreshToken"\s*:\s*"([^"]+)"')


class Pool:
    def __init__(self, mode: str, tokens: list[str]) -> None:
        self.mode = mode
        self.tokens = tokens
        self.index = 0

    def take(self) -> str:
        if self.mode == "bearer":
            token = self.tokens[self.index]
            self.index = (self.index + 1) % len(self.tokens)
            return token
        return self.tokens.pop(0) if self.tokens else "pool-is-empty-pool-is-empty-pool-is-empty-000"

    def give(self, body: bytes) -> None:
        if self.mode == "refresh":
            found = _SUCCESSOR.search(body)
            if found:
                self.tokens.append(found.group(1).decode())


def _request(mode: str, host: str, path: str, token: str) -> bytes:
    if mode == "bearer":
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    body = f'{{"refreshToken":"{token}"}}'.encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    host: str, port: int, mode: str, path: str, pool: Pool, until: float, latencies: list[float], errors: dict[str, int]
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        errors["connect"] += 1
        return
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(_request(mode, f"{host}:{port}", path, pool.take()))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            latencies.append(time.perf_counter() - started)
            if status > 399:
                errors["status"] += 1
            pool.give(body)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors["read"] += 1
    finally:
        writer.close()


async def run(
    url: str, mode: str, path: str, tokens: list[str], connections: int, duration: float
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool = Pool(mode, tokens)
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0}
    started = time.perf_counter()
    until = started + duration
    await asyncio.gather(
        *(_connection(host, port, mode, path, pool, until, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1e6) if latencies else 0

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": pct(50),
        "p99_us": pct(99),
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("url")
    parser.add_argument("mode", choices=["bearer", "refresh"])
    parser.add_argument("path")
    parser.add_argument("tokens")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=8.0)
    args = parser.parse_args(argv)
    with open(args.tokens) as fh:
        tokens = [line.strip() for line in fh if line.strip()]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(args.url, args.mode, args.path, tokens, args.connections, args.duration))
    sys.stdout.write("BENCHJSON " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
