"""The revocation feed in SQL: the one helper every revoking transaction calls, and the feed's reads.

``record_revocations(conn, session_ids, now)`` adds one feed entry per session the transaction
ended, copying each session's absolute expiry (the bound on its access tokens' ``exp``). It is
called inside the transaction that sets the sessions' ``revoked_at``, as its last statement, so an
entry exists exactly when the revocation committed. Order across instances: a reader pages by id
(``id > cursor``), so ids must become visible in id order — a lower id committing after a higher
one was read would be skipped for good. On PostgreSQL the helper therefore first takes a
transaction-level advisory lock (released at commit), and the ids are drawn after it: revoking
transactions commit their entries one at a time, in id order. Revocations are rare (a logout, a
revoke), so serialising their last step costs nothing that matters; the lock is keyed by the
schema, so deployments in other schemas do not wait on each other. SQLite serialises every writer
already (``BEGIN IMMEDIATE``), and its ``AUTOINCREMENT`` never hands out a purged id again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from authspec.services.ports import Revocation
from authspec.storage.tables import revocations, sessions

#: The first key of the feed's advisory lock ("revk"); the second is ``hashtext`` of the schema.
LOCK_CLASS = 0x7265766B
LOCK_SQL = "SELECT pg_advisory_xact_lock(:cls, hashtext(coalesce(current_schema(), '')))"


async def record_revocations(conn: AsyncConnection, session_ids: Sequence[str], now: datetime) -> None:
    """Add a feed entry for each of ``session_ids``, ended at ``now`` in the transaction of ``conn``
    (call it last in that transaction; a no-op for no ids)."""
    if not session_ids:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text(LOCK_SQL), {"cls": LOCK_CLASS})
    ended = (
        select(sessions.c.id, literal(now, revocations.c.ended_at.type), sessions.c.expires_at)
        .where(sessions.c.id.in_(list(session_ids)))
        .order_by(sessions.c.id)
    )
    await conn.execute(insert(revocations).from_select(["sid", "ended_at", "session_expires_at"], ended))


def _entry(row: Any) -> Revocation:
    return Revocation(
        id=int(row.id), session_id=row.sid, ended_at=row.ended_at, session_expires_at=row.session_expires_at
    )


async def list_revocations(conn: AsyncConnection, after: int, limit: int) -> list[Revocation]:
    stmt = select(revocations).where(revocations.c.id > after).order_by(revocations.c.id).limit(limit)
    return [_entry(row) for row in await conn.execute(stmt)]


async def latest_revocation_id(conn: AsyncConnection) -> int:
    value = (await conn.execute(select(func.max(revocations.c.id)))).scalar_one_or_none()
    return 0 if value is None else int(value)
