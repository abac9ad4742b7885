"""Handlers of the ``health`` tag: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging

from connexion import request

from authspec.errors import NotFound, ServiceUnavailable
from authspec.metrics import CONTENT_TYPE

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


async def get_metrics() -> tuple[bytes, int, dict[str, str]]:
    # Not enveloped: Prometheus text (authspec.metrics). The service's lifespan puts its Metrics in
    # the request state unless AUTHSPEC_METRICS=false; the mock never does, so both answer 404 then.
    metrics = getattr(request.state, "metrics", None)
    if metrics is None:
        raise NotFound("Metrics are turned off")
    return metrics.exposition(), 200, {"Content-Type": CONTENT_TYPE}
