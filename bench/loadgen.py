"""The fallback load generator (when wrk is not installed): the same pools and report as ``pool.lua``.

``python -m bench.loadgen URL SPEC_FILE TOKENS_FILE --connections N --duration S`` keeps N
keep-alive HTTP/1.1 connections busy for S seconds with uvloop and prints one ``BENCHJSON`` line;
the spec file is ``bench.ops.Op.spec_lines`` (any method, path, headers and body; a non-2xx
answer, or one without the spec's ``expect`` text, is an error).
It is slower than wrk (one Python core), so its figures are lower bounds of what a server can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def read_spec(path: str) -> dict[str, Any]:
    """The request spec ``bench.ops.Op.spec_lines`` wrote (the same file ``pool.lua`` reads)."""
    spec: dict[str, Any] = {"headers": {}, "body": "", "mode": "cycle", "successor": "refreshToken", "expect": ""}
    with open(path) as fh:
        for line in fh:
            key, _, value = line.rstrip("\n").partition("\t")
            if key == "header":
                name, _, header_value = value.partition(":")
                spec["headers"][name] = header_value.strip()
            elif key:
                spec[key] = value
    return spec


class Pool:
    def __init__(self, spec: dict[str, Any], tokens: list[str]) -> None:
        self.spec = spec
        self.tokens = tokens
        self.index = 0
        self.successor = re.compile(rb'"' + re.escape(spec["successor"].encode()) + rb'"\s*:\s*"([^"]+)"')

    def take(self) -> str:
        if self.spec["mode"] == "cycle":
            token = self.tokens[self.index]
            self.index = (self.index + 1) % len(self.tokens)
            return token
        return self.tokens.pop(0) if self.tokens else "pool-is-empty-pool-is-empty-pool-is-empty-000"

    def give(self, body: bytes) -> None:
        if self.spec["mode"] == "rotate":
            found = self.successor.search(body)
            if found:
                self.tokens.append(found.group(1).decode())

    def request(self, host: str) -> bytes:
        token = self.take()
        spec = self.spec
        body = str(spec["body"]).replace("{token}", token).encode()
        head = [f"{spec['method']} {spec['path']} HTTP/1.1", f"Host: {host}"]
        head += [f"{name}: {value.replace('{token}', token)}" for name, value in spec["headers"].items()]
        if body:
            head.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    length, chunked = 0, False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return await reader.readexactly(length) if length else b""
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        parts.append(await reader.readexactly(size + 2))
        if size == 0:  # no trailers: the last chunk is "0\r\n\r\n"
            return b"".join(part[:-2] for part in parts)


async def _connection(
    host: str, port: int, pool: Pool, until: float, latencies: list[float], errors: dict[str, int]
) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        errors["connect"] += 1
        return
    expect = pool.spec["expect"].encode()
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(pool.request(f"{host}:{port}"))
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            body = await _body(reader, head)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status <= 299:
                errors["non2xx"] += 1
            elif expect and expect not in body:
                errors["unexpected"] += 1
            pool.give(body)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        errors["read"] += 1
    finally:
        writer.close()


async def run(
    url: str, spec: dict[str, Any], tokens: list[str], connections: int, duration: float
) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool = Pool(spec, tokens)
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0, "unexpected": 0}
    started = time.perf_counter()
    until = started + duration
    await asyncio.gather(*(_connection(host, port, pool, until, latencies, errors) for _ in range(connections)))
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
    parser.add_argument("spec")
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
    result = asyncio.run(run(args.url, read_spec(args.spec), tokens, args.connections, args.duration))
    sys.stdout.write("BENCHJSON " + json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
