"""``SqlRepository``: the services' ``Repository`` port on SQLAlchemy Core (SQLite and PostgreSQL).

Each method is one transaction. The atomic steps the port demands are single conditional
statements (``UPDATE ... WHERE <expected state> RETURNING``, ``INSERT ... ON CONFLICT``) or, where
a step spans rows, a write transaction that first locks the session row (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers). Session rows are always locked
before refresh-token rows, and several sessions in id order, so transactions cannot deadlock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from authspec.services.ports import (
    DuplicateEmail,
    EmailCode,
    Exchange,
    RefreshToken,
    RegistrationToken,
    Revocation,
    Session,
    User,
)
from authspec.storage import revocations
from authspec.storage.engine import Database
from authspec.storage.hot import SqliteHot
from authspec.storage.hot_pg import PgHot
from authspec.storage.purge import purge
from authspec.storage.sqlite import Conn
from authspec.storage.tables import email_codes, refresh_tokens, registration_tokens, sessions, users


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id, email=row.email, first_name=row.first_name, last_name=row.last_name, created_at=row.created_at
    )


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_active_at=row.last_active_at,
        expires_at=row.expires_at,
        ip=row.ip,
        user_agent=row.user_agent,
        device_name=row.device_name,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def _refresh(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        token_hash=row.token_hash,
        session_id=row.session_id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        parent_hash=row.parent_hash,
        rotated_at=row.rotated_at,
        successor_hash=row.successor_hash,
        revoked_at=row.revoked_at,
    )


def _code(row: Row[Any]) -> EmailCode:
    return EmailCode(
        id=row.id,
        email=row.email,
        code_hash=row.code_hash,
        created_at=row.created_at,
        expires_at=row.expires_at,
        attempts=row.attempts,
        consumed_at=row.consumed_at,
    )


def _refresh_values(token: RefreshToken) -> dict[str, Any]:
    return {
        "token_hash": token.token_hash,
        "session_id": token.session_id,
        "user_id": token.user_id,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "parent_hash": token.parent_hash,
        "rotated_at": token.rotated_at,
        "successor_hash": token.successor_hash,
        "revoked_at": token.revoked_at,
    }


#: The exchange's one read: a refresh token with its session, both rows locked (sessions first).
_EXCHANGE = (
    select(sessions, *(column.label(f"rt_{column.name}") for column in refresh_tokens.c))
    .select_from(sessions.join(refresh_tokens, refresh_tokens.c.session_id == sessions.c.id))
    .with_for_update()
)


def _refresh_of(row: Row[Any]) -> RefreshToken:
    """The refresh token of an ``_EXCHANGE`` row."""
    values = row._mapping
    return RefreshToken(**{column.name: values[f"rt_{column.name}"] for column in refresh_tokens.c})


async def _end_session(conn: Conn, session_id: str, now: datetime, reason: str) -> bool:
    """In the caller's write transaction: end one session (compare-and-set on ``revoked_at``) and
    revoke its refresh tokens; True when this call ended it, which also adds its revocation-feed
    entry (``authspec.storage.revocations``)."""
    ended = await conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.session_id == session_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    ended_here = ended.rowcount == 1
    await revocations.record_revocations(conn, [session_id] if ended_here else [], now)
    return ended_here


def upsert(db: Database, table: Any) -> Any:
    """The dialect's ``INSERT`` that supports ``on_conflict_do_update``."""
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)


class SqlRepository:
    """The ``Repository`` of the real service."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: The hot path (bearer check, list, me, refresh) on the driver, without SQLAlchemy per call.
        self.hot: SqliteHot | PgHot = (SqliteHot if db.is_sqlite else PgHot)(db, _end_session)

    # -- users -------------------------------------------------------------------------------------
    async def get_user(self, user_id: str) -> User | None:
        return await self.hot.get_user(user_id)

    async def get_user_by_email(self, email: str) -> User | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(users).where(users.c.email == email))).first()
        return _user(row) if row else None

    async def create_user(self, user: User) -> None:
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    insert(users).values(
                        id=user.id,
                        email=user.email,
                        first_name=user.first_name,
                        last_name=user.last_name,
                        created_at=user.created_at,
                    )
                )
        except IntegrityError:
            raise DuplicateEmail(user.email) from None

    # -- email codes ---------------------------------------------------------------------------------
    async def replace_email_code(self, code: EmailCode, *, max_attempts: int) -> EmailCode:
        stmt = upsert(self.db, email_codes).values(
            email=code.email,
            id=code.id,
            code_hash=code.code_hash,
            created_at=code.created_at,
            expires_at=code.expires_at,
            attempts=code.attempts,
            consumed_at=None,
        )
        previous_live = and_(
            email_codes.c.consumed_at.is_(None),
            email_codes.c.expires_at > stmt.excluded.created_at,
            email_codes.c.attempts < max_attempts,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[email_codes.c.email],
            set_={
                "id": stmt.excluded.id,
                "code_hash": stmt.excluded.code_hash,
                "created_at": stmt.excluded.created_at,
                "expires_at": stmt.excluded.expires_at,
                "consumed_at": None,
                "attempts": case((previous_live, email_codes.c.attempts), else_=stmt.excluded.attempts),
            },
        ).returning(*email_codes.c)
        async with self.db.write() as conn:
            row = (await conn.execute(stmt)).one()
        return _code(row)

    async def get_email_code(self, email: str) -> EmailCode | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(email_codes).where(email_codes.c.email == email))).first()
        return _code(row) if row else None

    async def register_code_attempt(self, email: str, code_id: str, *, max_attempts: int) -> int | None:
        stmt = (
            update(email_codes)
            .where(
                email_codes.c.email == email,
                email_codes.c.id == code_id,
                email_codes.c.consumed_at.is_(None),
                email_codes.c.attempts < max_attempts,
            )
            .values(attempts=email_codes.c.attempts + 1)
            .returning(email_codes.c.attempts)
        )
        async with self.db.write() as conn:
            value = (await conn.execute(stmt)).scalar_one_or_none()
        return None if value is None else int(value)

    async def consume_email_code(self, email: str, code_id: str, now: datetime) -> bool:
        stmt = (
            update(email_codes)
            .where(email_codes.c.email == email, email_codes.c.id == code_id, email_codes.c.consumed_at.is_(None))
            .values(consumed_at=now)
        )
        async with self.db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    # -- registration tokens -----------------------------------------------------------------------------
    async def put_registration_token(self, token: RegistrationToken) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(registration_tokens).values(
                    token_hash=token.token_hash,
                    email=token.email,
                    created_at=token.created_at,
                    expires_at=token.expires_at,
                    consumed_at=token.consumed_at,
                )
            )

    async def get_registration_token(self, token_hash: str) -> RegistrationToken | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(select(registration_tokens).where(registration_tokens.c.token_hash == token_hash))
            ).first()
        if row is None:
            return None
        return RegistrationToken(
            token_hash=row.token_hash,
            email=row.email,
            created_at=row.created_at,
            expires_at=row.expires_at,
            consumed_at=row.consumed_at,
        )

    async def consume_registration_token(self, token_hash: str, now: datetime) -> bool:
        stmt = (
            update(registration_tokens)
            .where(
                registration_tokens.c.token_hash == token_hash,
                registration_tokens.c.consumed_at.is_(None),
                registration_tokens.c.expires_at > now,
            )
            .values(consumed_at=now)
        )
        async with self.db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    # -- sessions and refresh tokens ------------------------------------------------------------------------
    async def start_session(self, session: Session, refresh: RefreshToken) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                insert(sessions).values(
                    id=session.id,
                    user_id=session.user_id,
                    created_at=session.created_at,
                    last_active_at=session.last_active_at,
                    expires_at=session.expires_at,
                    ip=session.ip,
                    user_agent=session.user_agent,
                    device_name=session.device_name,
                    revoked_at=session.revoked_at,
                    revoked_reason=session.revoked_reason,
                )
            )
            await conn.execute(insert(refresh_tokens).values(**_refresh_values(refresh)))

    async def get_session(self, session_id: str) -> Session | None:
        return await self.hot.get_session(session_id)

    async def list_active_sessions(self, user_id: str, now: datetime) -> list[Session]:
        return await self.hot.list_active_sessions(user_id, now)

    async def touch_session(self, session_id: str, now: datetime) -> None:
        await self.hot.touch_session(session_id, now)

    async def revoke_session(self, session_id: str, now: datetime, reason: str) -> bool:
        async with self.db.write() as conn:
            return await _end_session(conn, session_id, now, reason)

    async def revoke_user_sessions(
        self, user_id: str, now: datetime, reason: str, *, except_session_id: str | None = None
    ) -> list[str]:
        active = select(sessions.c.id).where(
            sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now
        )
        if except_session_id is not None:
            active = active.where(sessions.c.id != except_session_id)
        async with self.db.write() as conn:
            ids = list((await conn.execute(active.order_by(sessions.c.id).with_for_update())).scalars())
            if not ids:
                return []
            await conn.execute(
                update(sessions)
                .where(sessions.c.id.in_(ids), sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.session_id.in_(ids), refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await revocations.record_revocations(conn, ids, now)
        return ids

    async def get_refresh_token(self, token_hash: str) -> RefreshToken | None:
        async with self.db.read() as conn:
            row = (await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))).first()
        return _refresh(row) if row else None

    async def exchange_refresh_token(
        self,
        parent_hash: str,
        successor_hash: str,
        now: datetime,
        *,
        expires_at: datetime,
        grace: float,
        idle_ttl: int,
    ) -> Exchange:
        """One write transaction: the parent token with its session, both locked (PostgreSQL's
        ``FOR UPDATE``, the session first as every writer does; SQLite's write lock), then the
        writes its outcome needs (``authspec.storage.hot``; a reuse ends the session by
        ``_end_session``, on SQLAlchemy Core, in that transaction)."""
        return await self.hot.exchange_refresh_token(
            parent_hash, successor_hash, now, expires_at=expires_at, grace=grace, idle_ttl=idle_ttl
        )

    # -- the revocation feed --------------------------------------------------------------------------
    async def list_revocations(self, after: int, limit: int) -> list[Revocation]:
        async with self.db.read() as conn:
            return await revocations.list_revocations(conn, after, limit)

    async def latest_revocation_id(self) -> int:
        async with self.db.read() as conn:
            return await revocations.latest_revocation_id(conn)

    # -- operations -------------------------------------------------------------------------------------
    async def ping(self) -> None:
        async with self.db.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def purge_expired(self, before: datetime, *, batch_size: int = 1000) -> int:
        """Batched, and skipped (0) while another instance purges (``authspec.storage.purge``)."""
        return (await purge(self.db, before, batch_size=batch_size)).rows
