"""The storage's start-up checks: can the database and Redis the settings name be used, right now?

``authspec serve`` and ``authspec migrate`` run ``storage_problem`` before they start, so an
unreachable or missing database, a SQLite file whose folder cannot be created, a database at a
migration revision this code does not know, or an unreachable Redis ends the command with one line
naming the setting (exit status 2) instead of a traceback from inside uvicorn or Alembic. URLs in
those lines carry no password (``mask_url``). Every check is bounded by ``PREFLIGHT_SECONDS``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import DBAPIError

from authspec.settings import Settings
from authspec.storage.engine import Database, DatabaseUrlError, sqlite_path
from authspec.storage.migrate import head_revision, lineage

#: How long each check may take before the database or Redis counts as unreachable.
PREFLIGHT_SECONDS = 10.0
#: PostgreSQL's SQLSTATEs for a database that does not exist and for a refused login.
_NO_DATABASE = "3D000"
_LOGIN_REFUSED = ("28000", "28P01")


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (``postgresql://user:***@host/db``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if parts.password is None and "password=" not in parts.query:
        return url  # as written (urlunsplit would turn sqlite:///a.db into sqlite:/a.db)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}")
    if "password=" in parts.query:  # libpq's postgresql://host/db?password=...
        query = [(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return urlunsplit(parts)


def _reason(exc: BaseException) -> str:
    """A short cause: the OS's words for a socket error somewhere in the chain, else the message."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and (seen.errno or seen.strerror):
            # asyncio's "Connect call failed (...)" is errno 111; a resolver error has a negative one
            errno = seen.errno or 0
            return os.strerror(errno).lower() if errno > 0 else str(seen.strerror)
        if isinstance(seen, TimeoutError):
            return f"no answer within {PREFLIGHT_SECONDS:g} s"
        seen = seen.__cause__ or seen.__context__
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def storage_problem(settings: Settings, *, serving: bool = True) -> str | None:
    """Why the storage of ``settings`` cannot be used (one line naming the setting), or None.

    ``serving`` (``authspec serve``) also pings Redis and, with ``AUTHSPEC_MIGRATE_ON_START=false``,
    wants the database migrated already; ``authspec migrate`` (``serving=False``) needs neither."""
    try:
        db = Database(settings.database_url, schema=settings.database_schema)
    except DatabaseUrlError as exc:
        return str(exc)
    except OSError as exc:  # the SQLite file's folder (or the file) cannot be created
        path = (sqlite_path(settings.database_url) or Path()).expanduser().resolve()
        where = "" if path.parent.is_dir() else f" in {path.parent}, which cannot be made a folder"
        return f"AUTHSPEC_DATABASE_URL: cannot create the SQLite database {path}{where} ({_reason(exc)})"
    problem = asyncio.run(_check_database(db, settings, migrated=serving and not settings.migrate_on_start))
    if problem is None and serving and settings.redis_url:
        problem = asyncio.run(_check_redis(settings.redis_url))
    return problem


async def _check_database(db: Database, settings: Settings, *, migrated: bool) -> str | None:
    where = mask_url(settings.database_url)
    try:
        async with asyncio.timeout(PREFLIGHT_SECONDS), db.connect() as conn:
            heads: Any = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    except DBAPIError as exc:
        code = getattr(exc.orig, "sqlstate", None)
        if code == _NO_DATABASE:
            name = db.url.database
            return (
                f"AUTHSPEC_DATABASE_URL: the database {name!r} does not exist at {where} (create it: createdb {name})"
            )
        if code in _LOGIN_REFUSED:
            return f"AUTHSPEC_DATABASE_URL: the database at {where} refused the login ({_server_words(exc)})"
        return f"AUTHSPEC_DATABASE_URL: cannot use the database at {where} ({_server_words(exc)})"
    except (OSError, TimeoutError) as exc:
        return f"AUTHSPEC_DATABASE_URL: cannot reach the database at {where} ({_reason(exc)})"
    finally:
        await db.dispose()
    known = lineage()
    unknown = sorted(str(head) for head in heads if head not in known)
    if unknown:
        return (
            f"AUTHSPEC_DATABASE_URL: the database at {where} is at migration revision {', '.join(unknown)}, "
            f"which this version of authspec does not know (migrated by a newer version?); "
            f"it knows {', '.join(sorted(known))}"
        )
    head = head_revision()
    if migrated and set(heads) != {head}:
        state = f"at revision {', '.join(sorted(str(h) for h in heads))}" if heads else "not migrated"
        return (
            f"AUTHSPEC_MIGRATE_ON_START=false and the database at {where} is {state} (this version needs "
            f"{head}): run `authspec migrate` first"
        )
    return None


def _server_words(exc: DBAPIError) -> str:
    """The database's own message, without SQLAlchemy's wrapping (it names no password)."""
    orig = exc.orig
    inner = getattr(orig, "__cause__", None) or orig
    return " ".join(str(inner).split())


async def _check_redis(url: str) -> str | None:
    import redis.asyncio
    from redis.exceptions import RedisError

    bound = PREFLIGHT_SECONDS
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=bound, socket_timeout=bound)
    try:
        async with asyncio.timeout(PREFLIGHT_SECONDS):
            await client.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        return f"AUTHSPEC_REDIS_URL: cannot reach Redis at {mask_url(url)} ({_reason(exc)})"
    finally:
        await client.aclose()
    return None
