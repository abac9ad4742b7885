"""The purge on PostgreSQL: ``python -m bench.purge ENDED LIVE [REVISION ...]`` (not part of ``make bench``).

In a fresh schema of ``AUTHSPEC_TEST_POSTGRES_URL`` at each revision given (default ``head`` and
``0001``, i.e. with and without migration 0002's indexes): ENDED sessions that ended over a day
ago and LIVE sessions, two refresh tokens each, and ENDED/2 expired codes; then one
``authspec.storage.purge`` run with batches of 1000. Prints the rows and batches, the run's time,
and the longest and median statement (each batch is its own transaction). The schema is dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import event, insert, text

from authspec.storage.engine import Database
from authspec.storage.migrate import alembic_config, upgrade
from authspec.storage.purge import purge
from authspec.storage.tables import email_codes, refresh_tokens, sessions, users

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CHUNK = 10_000


def row(**values: Any) -> dict[str, Any]:
    return values


async def seed(db: Database, ended: int, live: int) -> None:
    owner, old = str(uuid.uuid4()), NOW - timedelta(days=40)
    async with db.write() as conn:
        await conn.execute(
            insert(users).values(id=owner, email="b@example.com", first_name="B", last_name="B", created_at=old)
        )

    def session(days: int) -> dict[str, Any]:
        return row(
            id=str(uuid.uuid4()), user_id=owner, created_at=old, last_active_at=old,
            expires_at=old + timedelta(days=days), ip=None, user_agent=None, device_name=None,
            revoked_at=None, revoked_reason=None,
        )  # fmt: skip

    def token(of: dict[str, Any]) -> dict[str, Any]:
        return row(
            token_hash=uuid.uuid4().hex * 2, session_id=of["id"], user_id=owner, created_at=old,
            expires_at=of["expires_at"], parent_hash=None, rotated_at=None, successor_hash=None, revoked_at=None,
        )  # fmt: skip

    def code() -> dict[str, Any]:
        return row(
            email=f"{uuid.uuid4().hex}@example.com", id=str(uuid.uuid4()), code_hash="0" * 64, created_at=old,
            expires_at=old + timedelta(seconds=300), attempts=0, consumed_at=None,
        )  # fmt: skip

    rows = [session(30) for _ in range(ended)] + [session(60) for _ in range(live)]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        async with db.write() as conn:
            await conn.execute(insert(sessions), chunk)
            await conn.execute(insert(refresh_tokens), [token(s) for s in chunk for _ in range(2)])
    codes = [code() for _ in range(ended // 2)]
    for start in range(0, len(codes), CHUNK):
        async with db.write() as conn:
            await conn.execute(insert(email_codes), codes[start : start + CHUNK])
    async with db.write() as conn:
        await conn.execute(text("ANALYZE"))


async def measure(url: str, revision: str, ended: int, live: int) -> str:
    schema = f"authspec_bench_{uuid.uuid4().hex[:8]}"
    db = Database(url, schema=schema)
    try:
        await upgrade(db)
        if revision != "head":
            async with db.write() as conn:
                await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))
        await seed(db, ended, live)
        durations: list[float] = []

        def started(conn: Any, *_args: Any) -> None:
            conn.info["started"] = time.perf_counter()

        def finished(conn: Any, *_args: Any) -> None:
            durations.append(time.perf_counter() - conn.info["started"])

        event.listen(db.engine.sync_engine, "before_cursor_execute", started)
        event.listen(db.engine.sync_engine, "after_cursor_execute", finished)
        began = time.perf_counter()
        report = await purge(db, NOW - timedelta(days=1), batch_size=1000)
        took = time.perf_counter() - began
        durations.sort()
        return (
            f"revision {revision}: {report.rows} rows in {report.batches} batches, {took:.2f} s; "
            f"{len(durations)} statements, longest {durations[-1] * 1000:.1f} ms, "
            f"median {durations[len(durations) // 2] * 1000:.1f} ms"
        )
    finally:
        await db.dispose()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


def main(argv: list[str]) -> int:
    url = os.environ.get("AUTHSPEC_TEST_POSTGRES_URL")
    if not url or len(argv) < 2:
        print("usage: AUTHSPEC_TEST_POSTGRES_URL=... python -m bench.purge ENDED LIVE [REVISION ...]", file=sys.stderr)
        return 2
    for revision in argv[2:] or ["head", "0001"]:
        print(f"ended {argv[0]}, live {argv[1]}, " + asyncio.run(measure(url, revision, int(argv[0]), int(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
