"""``python -m bench.profile [sessions|me|refresh|introspect] [N]``: where one request's time goes.

The service app is built in-process on a fresh SQLite database in ``build/bench`` (seeded by
``bench.seed``, response validation off as in production) and called N times (default 2000) as
an ASGI app from one event loop, without an HTTP server, under cProfile. The report groups the
profile's own time by the layer it was spent in (Connexion and Starlette, authspec's HTTP layer,
the services, storage and its driver, token signing and checking, JSON, logging) and prints the
top functions, so a missed target of ``make bench`` can say what remains.
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import hashlib
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import BUILD

#: (first match wins) a profile entry's file → the layer it belongs to.
LAYERS: list[tuple[str, str]] = [
    ("handlers/logs.py", "logging"),
    ("authspec/requestlog.py", "logging"),
    ("/connexion/", "Connexion"),
    ("/starlette/", "Starlette"),
    ("/authspec/storage/", "authspec storage"),
    ("sqlite3", "SQLite driver"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/authspec/services/", "authspec services"),
    ("/authspec/handlers/", "authspec handlers"),
    ("/handlers/", "authspec handlers"),
    ("/jwt/", "PyJWT"),
    ("/cryptography/", "cryptography (Ed25519)"),
    ("authspec/keys.py", "tokens (keys, credentials)"),
    ("authspec/credentials.py", "tokens (keys, credentials)"),
    ("/authspec/", "authspec HTTP layer"),
    ("orjson", "JSON"),
    ("/json/", "JSON"),
    ("jsonschema", "validation"),
    ("/logging/", "logging"),
    ("/asyncio/", "asyncio"),
]
CLIENT_ID, CLIENT_SECRET = "profile", "profile-secret"


def layer(filename: str) -> str:
    for needle, name in LAYERS:
        if needle in filename:
            return name
    return "other" if not filename.startswith("~") else "builtins"


async def _call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    path_only, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
        "state": dict(STATE),
    }
    await app(scope, receive, send)
    return status


#: The lifespan's state, copied into every request's scope as uvicorn does.
STATE: dict[str, Any] = {}


async def _lifespan(app: Any) -> Callable[[], Any]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: dict[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": STATE}, receive, send))
    await queue.put({"type": "lifespan.startup"})
    await started.wait()

    async def stop() -> None:
        await queue.put({"type": "lifespan.shutdown"})
        await task

    return stop


async def run(operation: str, count: int) -> None:
    from authspec.settings import Settings
    from bench.seed import Seeder

    BUILD.mkdir(parents=True, exist_ok=True)
    database = BUILD / "profile.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.environ.update(
        AUTHSPEC_DATABASE_URL=f"sqlite:///{database}",
        AUTHSPEC_JWT_PRIVATE_KEY_FILE=str(BUILD / "bench-keys.pem"),
        AUTHSPEC_MAIL_BACKEND="console",
        AUTHSPEC_VALIDATE_RESPONSES="false",
        AUTHSPEC_INTROSPECTION_CLIENTS=f"{CLIENT_ID}:{hashlib.sha256(CLIENT_SECRET.encode()).hexdigest()}",
    )
    seeder = Seeder(Settings())
    await seeder.prepare()
    await seeder.fill(1000)
    pool = await seeder.mint()
    await seeder.close()

    from authspec.handlers.app import create_app

    app = create_app()
    stop = await _lifespan(app)
    bearer = [[(b"authorization", f"Bearer {token}".encode())] for token in pool.access]
    refresh = list(pool.refresh)
    basic = b"Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode())

    def request(i: int) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
        if operation == "sessions":
            return "GET", "/api/v1/auth/sessions", bearer[i % len(bearer)], b""
        if operation == "me":
            return "GET", "/api/v1/auth/me", bearer[i % len(bearer)], b""
        if operation == "introspect":
            token = pool.access[i % len(pool.access)].encode()
            headers = [(b"authorization", basic), (b"content-type", b"application/x-www-form-urlencoded")]
            return "POST", "/api/v1/auth/introspect", headers, b"token=" + token
        raise ValueError(operation)

    async def one_refresh() -> int:
        import orjson

        token = refresh.pop(0)
        status = 0
        body = b'{"refreshToken":"' + token.encode() + b'"}'
        answer: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and message.get("body"):
                answer.update(orjson.loads(bytes(message["body"])))

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/api/v1/auth/refresh", "raw_path": b"/api/v1/auth/refresh", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080), "state": dict(STATE),
            "headers": [
                (b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }  # fmt: skip
        await app(scope, receive, send)
        assert answer.get("data"), answer
        refresh.append(answer["data"]["refreshToken"])
        return status

    async def once(i: int) -> int:
        if operation == "refresh":
            return await one_refresh()
        return await _call(app, *request(i))

    for i in range(200):  # warm caches (signatures, compiled plans)
        assert await once(i) == 200
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for i in range(count):
        await once(i)
    profile.disable()
    elapsed = time.perf_counter() - started
    await stop()
    report(profile, operation, count, elapsed)


def report(profile: cProfile.Profile, operation: str, count: int, elapsed: float) -> None:
    stats = pstats.Stats(profile)
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_layer[layer(filename)] += tottime
        total += tottime
    print(f"{operation}: {count} in-process ASGI calls, {elapsed / count * 1e6:.0f} µs each under cProfile")
    for name, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"  {name:<28} {seconds / count * 1e6:7.0f} µs  {seconds / total:6.1%}")
    print("top functions by own time:")
    stats.sort_stats("tottime").print_stats(15)


def main() -> int:
    operation = sys.argv[1] if len(sys.argv) > 1 else "sessions"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    asyncio.run(run(operation, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
