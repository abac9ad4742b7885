"""Operations of the ``auth`` tag: email codes, registration and the current user."""

from __future__ import annotations

from typing import Any

from authspec.envelope import Envelope
from authspec.services.results import user_data
from handlers.context import client, json_body, ok, services


async def request_email_code(body: Any) -> tuple[Envelope, int]:
    body = json_body(body)
    result = await services().auth.request_code(body["email"], client())
    return ok(result.as_data())


async def verify_email_code(body: Any) -> tuple[Envelope, int]:
    body = json_body(body)
    result = await services().auth.verify_code(
        body["email"], body["code"], device_name=body.get("deviceName"), client=client()
    )
    return ok(result.as_data())


async def complete_registration(body: Any) -> tuple[Envelope, int]:
    body = json_body(body)
    result = await services().auth.complete_registration(
        body["registrationToken"],
        first_name=body["firstName"],
        last_name=body["lastName"],
        device_name=body.get("deviceName"),
        client=client(),
    )
    return ok(result.as_data(), 201)


async def get_current_user(user: str) -> tuple[Envelope, int]:
    return ok(user_data(await services().auth.current_user(user)))
