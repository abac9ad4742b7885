"""Handlers of the ``health`` tag: liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from authspec.errors import ServiceUnavailable

from . import Reply, reply, services

log = logging.getLogger("authspec.health")

#: How long readiness waits for the store and the counters before answering 503.
READINESS_TIMEOUT = 5.0


async def get_health() -> Reply:
    return reply({"status": "ok"})


async def get_readiness() -> Reply:
    try:
        await asyncio.wait_for(services().ping(), timeout=READINESS_TIMEOUT)
    except Exception as exc:  # any failure to reach a dependency means "not ready"
        log.warning("not ready: %s", type(exc).__name__, extra={"event": "service.not_ready"})
        raise ServiceUnavailable("The database or Redis cannot be reached") from exc
    return reply({"status": "ready"})
