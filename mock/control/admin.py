"""The ``admin`` operations of the control API: outbox, reset, clock, request log, scenarios.

Every operation acts on the world the request's ``X-Mock-Namespace`` names (``default`` when the
header is absent). A scenario is checked against the contract when it is queued: the operation
must exist and declare the status, so a typo is a 400 now rather than a silent no-op later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from authspec.envelope import success
from authspec.errors import BadRequest

from ..context import current_request, current_world
from ..namespaces import Scenario
from ..responder import declared_statuses

Reply = tuple[dict[str, Any], int]


def _reply(data: Any, status: int = 200) -> Reply:
    return success(data, current_world().now(), status), status


async def get_outbox(to: str | None = None) -> Reply:
    world = current_world()
    return _reply(world.outbox.as_data(to, usable=world.code_usable))


async def reset_world() -> Reply:
    request = current_request()
    request.world = request.app.worlds.reset(request.namespace)
    return _reply({"namespace": request.namespace, "users": len(request.app.worlds.fixtures)})


def _clock_data() -> dict[str, Any]:
    from authspec.envelope import format_timestamp

    clock = current_world().clock
    return {"now": format_timestamp(clock.now()), "offsetSeconds": clock.offset_seconds}


async def get_clock() -> Reply:
    return _reply(_clock_data())


async def set_clock(body: dict[str, Any]) -> Reply:
    clock = current_world().clock
    if "advanceSeconds" in body:
        clock.advance(int(body["advanceSeconds"]))
    else:
        clock.set(datetime.fromisoformat(str(body["set"]).replace("Z", "+00:00")))
    return _reply(_clock_data())


async def list_requests(limit: int = 100) -> Reply:
    logged = list(current_world().requests)
    return _reply(logged[-limit:])


async def list_scenarios() -> Reply:
    return _reply([s.as_data() for s in current_world().scenarios])


async def create_scenario(body: dict[str, Any]) -> Reply:
    operation_id, status, times = body["operationId"], int(body["status"]), int(body.get("times", 1))
    operation = current_request().app.operations.get(operation_id)
    if operation is None:
        raise BadRequest(f"No operation has the operationId {operation_id!r}")
    declared = declared_statuses(operation)
    if status not in declared:
        raise BadRequest(
            f"{operation_id} does not declare status {status}; it declares {', '.join(map(str, declared))}"
        )
    scenario = Scenario(operation_id, status, times)
    current_world().scenarios.append(scenario)
    return _reply(scenario.as_data(), 201)


async def clear_scenarios() -> Reply:
    current_world().scenarios.clear()
    return _reply([])
