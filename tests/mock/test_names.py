"""Names and device names refuse spoofing characters in the mock too: the same contract, the same answers.

As ``tests/service/test_names.py``: each character class of ``tests.spoofing``, at the end, start
or middle of a value, is 400 ``validation_failed`` naming the field on completeRegistration and
verifyEmailCode; the refusals spend neither the registration token nor a code attempt, and names
in any script still pass.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import assert_error
from tests.mock.flows import ADA, API, advance, bearer, request_code
from tests.spoofing import GOOD_DEVICES, GOOD_NAMES, REFUSED, spoofed


def registration_token(client: TestClient, email: str) -> str:
    verified = client.post(f"{API}/auth/email/verify", json={"email": email, "code": request_code(client, email)})
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["data"]["registrationToken"]
    return token


@pytest.mark.parametrize("kind", list(REFUSED))
def test_register_refuses_the_class_in_first_name_last_name_and_device_name(client: TestClient, kind: str) -> None:
    good: dict[str, Any] = {
        "registrationToken": registration_token(client, "new@example.com"),
        "firstName": "Ada",
        "lastName": "Lovelace",
        "deviceName": "Laptop",
    }
    for field in ("firstName", "lastName", "deviceName"):
        for character in REFUSED[kind]:
            for value in spoofed(good[field], character):
                refused = client.post(f"{API}/auth/register", json={**good, field: value})
                body = assert_error(refused, 400, "validation_failed")
                assert body["errors"][1].startswith(f"body.{field}: "), (value, body["errors"])
    registered = client.post(f"{API}/auth/register", json=good)
    assert registered.status_code == 201, registered.text  # the token was not spent


@pytest.mark.parametrize("kind", list(REFUSED))
def test_verify_refuses_the_class_in_device_name(client: TestClient, kind: str) -> None:
    code = request_code(client, ADA)
    for character in REFUSED[kind]:
        for value in spoofed("Laptop", character):
            refused = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code, "deviceName": value})
            body = assert_error(refused, 400, "validation_failed")
            assert body["errors"][1].startswith("body.deviceName: "), (value, body["errors"])
    verified = client.post(f"{API}/auth/email/verify", json={"email": ADA, "code": code, "deviceName": "Laptop"})
    assert verified.status_code == 200 and verified.json()["data"]["status"] == "authenticated"


def test_names_and_device_names_in_any_script_pass_and_are_kept_as_sent(client: TestClient) -> None:
    for index, name in enumerate(GOOD_NAMES):
        body = {
            "registrationToken": registration_token(client, f"person{index}@example.com"),
            "firstName": name,
            "lastName": GOOD_NAMES[-1 - index],
            "deviceName": GOOD_DEVICES[index % len(GOOD_DEVICES)],
        }
        registered = client.post(f"{API}/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        user = registered.json()["data"]["user"]
        assert (user["firstName"], user["lastName"]) == (name, GOOD_NAMES[-1 - index])
    tokens: dict[str, Any] = {}
    for device in GOOD_DEVICES:
        advance(client, 61)
        code = request_code(client, "person0@example.com")
        verified = client.post(
            f"{API}/auth/email/verify", json={"email": "person0@example.com", "code": code, "deviceName": device}
        )
        assert verified.status_code == 200, verified.text
        tokens = verified.json()["data"]["tokens"]
    sessions = client.get(f"{API}/auth/sessions", headers=bearer(tokens)).json()["data"]
    assert {s["deviceName"] for s in sessions} == {GOOD_DEVICES[0], *GOOD_DEVICES}
