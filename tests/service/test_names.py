"""Names and device names refuse spoofing characters, on the real service (``PersonName``, ``DeviceName``).

Each character class of ``tests.spoofing`` is refused with 400 ``validation_failed`` naming the
field, wherever in the value it sits, by completeRegistration (firstName, lastName, deviceName)
and verifyEmailCode (deviceName); the refusals spend neither the registration token nor a code
attempt. Names in any script, with accents, apostrophes and hyphens, still pass and are stored as sent.
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_error
from tests.service.support import Api, data
from tests.spoofing import GOOD_DEVICES, GOOD_NAMES, REFUSED, spoofed


@pytest.mark.parametrize("kind", list(REFUSED))
def test_register_refuses_the_class_in_first_name_last_name_and_device_name(api: Api, kind: str) -> None:
    good = {
        "registrationToken": api.registration_token("new@example.com"),
        "firstName": "Ada",
        "lastName": "Lovelace",
        "deviceName": "Laptop",
    }
    for field in ("firstName", "lastName", "deviceName"):
        for character in REFUSED[kind]:
            for value in spoofed(good[field], character):
                body = assert_error(api.post("/auth/register", {**good, field: value}), 400, "validation_failed")
                assert body["errors"][1].startswith(f"body.{field}: "), (value, body["errors"])
    assert data(api.post("/auth/register", good), 201)["user"]["firstName"] == "Ada"  # the token was not spent


@pytest.mark.parametrize("kind", list(REFUSED))
def test_verify_refuses_the_class_in_device_name(api: Api, kind: str) -> None:
    code = api.request_code("ada@example.com")
    for character in REFUSED[kind]:
        for value in spoofed("Laptop", character):
            body = assert_error(api.verify("ada@example.com", code, deviceName=value), 400, "validation_failed")
            assert body["errors"][1].startswith("body.deviceName: "), (value, body["errors"])
    # More refusals than CODE_MAX_ATTEMPTS, and the code still works: none of them reached the code check.
    assert data(api.verify("ada@example.com", code, deviceName="Laptop"))["status"] == "registration_required"


def test_names_and_device_names_in_any_script_pass_and_are_stored_as_sent(api: Api) -> None:
    for index, name in enumerate(GOOD_NAMES):
        email = f"person{index}@example.com"
        device = GOOD_DEVICES[index % len(GOOD_DEVICES)]
        body = {
            "registrationToken": api.registration_token(email),
            "firstName": name,
            "lastName": GOOD_NAMES[-1 - index],
        }
        user = data(api.post("/auth/register", {**body, "deviceName": device}), 201)["user"]
        assert (user["firstName"], user["lastName"]) == (name, GOOD_NAMES[-1 - index])
    for device in GOOD_DEVICES:
        verified = data(api.verify("person0@example.com", api.request_code("person0@example.com"), deviceName=device))
        assert verified["status"] == "authenticated"
    sessions = data(api.get("/auth/sessions", verified["tokens"]["accessToken"]))
    assert {s["deviceName"] for s in sessions} == {GOOD_DEVICES[0], *GOOD_DEVICES}
