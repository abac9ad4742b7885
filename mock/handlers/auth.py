"""The mock's ``auth`` operations: email codes, registration and the current user."""

from __future__ import annotations

from typing import Any

from authspec.services.results import user_data
from mock.handlers import Reply, client_info, json_body, reply, services


async def request_email_code(body: Any) -> Reply:
    body = json_body(body)
    sent = await services().auth.request_code(body["email"], client_info())
    return reply(sent.as_data())


async def verify_email_code(body: Any) -> Reply:
    body = json_body(body)
    result = await services().auth.verify_code(
        body["email"], body["code"], device_name=body.get("deviceName"), client=client_info()
    )
    return reply(result.as_data())


async def complete_registration(body: Any) -> Reply:
    body = json_body(body)
    registered = await services().auth.complete_registration(
        body["registrationToken"],
        first_name=body["firstName"],
        last_name=body["lastName"],
        device_name=body.get("deviceName"),
        client=client_info(),
    )
    return reply(registered.as_data(), 201)


async def get_current_user(user: str) -> Reply:
    return reply(user_data(await services().auth.current_user(user)))
