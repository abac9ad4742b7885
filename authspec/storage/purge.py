"""The purge of rows that can never be used again, for ``authspec purge`` and the service's housekeeping.

What goes: sessions that ended (revoked or past their absolute lifetime) before ``before``, with
their refresh tokens, and codes, registration tokens and rate-limit windows that expired before it,
and revocation-feed entries whose ``exp`` passed before it: their session expired before it, or,
given the access-token lifetime (``access_ttl``), they ended more than that before it (the contract
keeps an entry at least until its ``exp``).
``before`` is "now minus ``RETENTION_SECONDS``", so ended sessions stay a day for audit. The purge
deletes in batches of at most ``batch_size`` rows, each batch its own short write transaction, so
it never holds locks for long nor makes one huge transaction. Refresh tokens go first: a batch
locks the ended sessions it works on (in id order, the order every other writer uses, so it cannot
deadlock with a revocation) and walks them by id, so no session is scanned twice. Each delete
repeats its condition on the row it deletes, so a row renewed meanwhile (a new code for the email,
a new window for a key) is kept. On PostgreSQL only one instance purges a deployment at a time: a
session-level ``pg_try_advisory_lock`` keyed by the schema, held on a connection of its own for the
whole run; an instance that finds it taken skips the run. SQLite serves one host, and its batches
are serialised by ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, or_, select, text

from authspec.storage.engine import Database
from authspec.storage.tables import (
    email_codes,
    rate_limits,
    refresh_tokens,
    registration_tokens,
    revocations,
    sessions,
)

#: How long ended sessions (and expired codes, tokens and windows) are kept before they are purged.
RETENTION_SECONDS = 86400
#: The first key of the purge's advisory lock ("purg"); the second is ``hashtext`` of the schema.
LOCK_CLASS = 0x70757267
_LOCK_KEYS = ":cls, hashtext(coalesce(current_schema(), ''))"
LOCK_SQL = f"SELECT pg_try_advisory_lock({_LOCK_KEYS})"
UNLOCK_SQL = f"SELECT pg_advisory_unlock({_LOCK_KEYS})"


@dataclass(frozen=True)
class PurgeReport:
    """What one run did: rows deleted, in how many transactions, or that another instance had the lock."""

    rows: int = 0
    batches: int = 0
    skipped: bool = False


async def purge(
    db: Database, before: datetime, *, batch_size: int = 1000, access_ttl: int | None = None
) -> PurgeReport:
    """Delete what ended or expired before ``before``, at most ``batch_size`` rows per transaction
    (``access_ttl``: the access-token lifetime, so feed entries go once their ``exp`` passed; without
    it they stay until their session's absolute expiry, always a safe bound)."""
    if db.is_sqlite:
        return await _purge(db, before, batch_size, access_ttl)
    async with db.engine.connect() as conn:
        lock = await conn.execution_options(isolation_level="AUTOCOMMIT")  # held, but no open transaction
        if not await lock.scalar(text(LOCK_SQL), {"cls": LOCK_CLASS}):
            return PurgeReport(skipped=True)
        try:
            return await _purge(db, before, batch_size, access_ttl)
        finally:
            await lock.execute(text(UNLOCK_SQL), {"cls": LOCK_CLASS})


async def _purge(db: Database, before: datetime, batch_size: int, access_ttl: int | None) -> PurgeReport:
    ended = or_(sessions.c.revoked_at < before, sessions.c.expires_at < before)
    useless = revocations.c.session_expires_at < before  # exp = min(ended_at + ACCESS_TTL, this)
    if access_ttl is not None:
        useless = or_(useless, revocations.c.ended_at < before - timedelta(seconds=access_ttl))
    rows, batches = await _refresh_tokens_of_ended_sessions(db, ended, batch_size)
    for table, key, condition in (
        (sessions, sessions.c.id, ended),
        (email_codes, email_codes.c.email, email_codes.c.expires_at < before),
        (registration_tokens, registration_tokens.c.token_hash, registration_tokens.c.expires_at < before),
        (rate_limits, rate_limits.c.key, rate_limits.c.resets_at < before),
        (revocations, revocations.c.id, useless),
    ):
        more_rows, more_batches = await _delete_in_batches(db, table, key, condition, batch_size)
        rows, batches = rows + more_rows, batches + more_batches
    return PurgeReport(rows=rows, batches=batches)


async def _refresh_tokens_of_ended_sessions(
    db: Database, ended: ColumnElement[bool], batch_size: int
) -> tuple[int, int]:
    # A keyset walk over the ended sessions in id order: each transaction locks up to batch_size of
    # them from ``after`` on and deletes up to batch_size of their tokens; ``after`` moves past the
    # sessions whose tokens are all gone, so no session is looked at again (no quadratic rescans).
    rows = batches = 0
    after = ""
    while True:
        async with db.write() as conn:
            owners = list(
                (
                    await conn.execute(
                        select(sessions.c.id)
                        .where(ended, sessions.c.id > after)
                        .order_by(sessions.c.id)
                        .limit(batch_size)
                        .with_for_update()
                    )
                ).scalars()
            )
            if not owners:
                return rows, batches
            batch = (
                await conn.execute(
                    select(refresh_tokens.c.token_hash, refresh_tokens.c.session_id)
                    .where(refresh_tokens.c.session_id.in_(owners))
                    .order_by(refresh_tokens.c.session_id)
                    .limit(batch_size)
                )
            ).all()
            if batch:
                hashes = [row.token_hash for row in batch]
                deleted = await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.token_hash.in_(hashes)))
                rows, batches = rows + deleted.rowcount, batches + 1
        if len(batch) < batch_size:
            after = owners[-1]  # every token of these sessions is gone
        else:  # the last session may have more: resume at it (the ones before it are done)
            after = max((sid for sid in owners if sid < batch[-1].session_id), default=after)


async def _delete_in_batches(
    db: Database, table: Table, key: Any, condition: ColumnElement[bool], batch_size: int
) -> tuple[int, int]:
    rows = batches = 0
    chosen = select(key).where(condition).limit(batch_size).scalar_subquery()
    stmt = delete(table).where(condition, key.in_(chosen))
    while True:
        async with db.write() as conn:
            deleted = (await conn.execute(stmt)).rowcount
        if deleted:
            rows, batches = rows + deleted, batches + 1
        if deleted < batch_size:
            return rows, batches
