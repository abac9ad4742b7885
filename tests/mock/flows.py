"""Small steps the mock's tests chain: request a code, read it from the outbox, log in."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

API = "/api/v1"
ADA = "ada@example.com"


def request_code(client: TestClient, email: str) -> str:
    """Ask for a code and return it, as a frontend developer would: from the outbox."""
    sent = client.post(f"{API}/auth/email/request-code", json={"email": email})
    assert sent.status_code == 200, sent.text
    outbox = client.get("/__mock/outbox", params={"to": email})
    assert outbox.status_code == 200
    code: str = outbox.json()["data"][-1]["code"]
    return code


def login(client: TestClient, email: str = ADA, device: str | None = None) -> dict[str, Any]:
    """Log an existing user in; returns ``data`` of the verify answer (tokens and user)."""
    code = request_code(client, email)
    body = {"email": email, "code": code} | ({"deviceName": device} if device else {})
    verified = client.post(f"{API}/auth/email/verify", json=body)
    assert verified.status_code == 200, verified.text
    data: dict[str, Any] = verified.json()["data"]
    assert data["status"] == "authenticated"
    return data


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['accessToken']}"}


def advance(client: TestClient, seconds: int) -> dict[str, Any]:
    moved = client.post("/__mock/clock", json={"advanceSeconds": seconds})
    assert moved.status_code == 200, moved.text
    data: dict[str, Any] = moved.json()["data"]
    return data
