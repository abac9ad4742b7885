"""Handlers of the ``auth`` tag: email codes, registration and the current user."""

from __future__ import annotations

from typing import Any

from authspec.services.results import user_data

from . import Reply, client, reply, services


async def request_email_code(body: dict[str, Any]) -> Reply:
    sent = await services().auth.request_code(body["email"], client())
    return reply(sent.as_data())


async def verify_email_code(body: dict[str, Any]) -> Reply:
    result = await services().auth.verify_code(
        body["email"], body["code"], device_name=body.get("deviceName"), client=client()
    )
    return reply(result.as_data())


async def complete_registration(body: dict[str, Any]) -> Reply:
    registered = await services().auth.complete_registration(
        body["registrationToken"],
        first_name=body["firstName"],
        last_name=body["lastName"],
        device_name=body.get("deviceName"),
        client=client(),
    )
    return reply(registered.as_data(), 201)


async def get_current_user(user: str) -> Reply:
    return reply(user_data(await services().auth.current_user(user)))
