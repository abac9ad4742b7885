"""The mock's per-mailbox limits (issue 13): the same services and rules as the real service —
``+tag`` variants of one mailbox share its cooldown and its hourly cap on codes sent."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from authspec.settings import Settings
from tests.mock.flows import API, advance


def flood(client: TestClient, count: int) -> list[int]:
    return [
        client.post(f"{API}/auth/email/request-code", json={"email": f"bomb+{n}@example.com"}).status_code
        for n in range(count)
    ]


def mailed(client: TestClient) -> list[str]:
    return [m["to"] for m in client.get("/__mock/outbox").json()["data"]]


def test_tag_variants_share_the_cooldown_on_the_mock(client: TestClient) -> None:
    assert flood(client, 10) == [200] + [429] * 9
    assert mailed(client) == ["bomb+0@example.com"]


def test_a_flood_of_tag_variants_sends_at_most_the_cap_on_the_mock(make_client: Callable[..., TestClient]) -> None:
    settings = Settings(code_resend_after=0)
    client = make_client(settings)
    cap = settings.code_mailbox_hourly
    assert flood(client, 20) == [200] * cap + [429] * (20 - cap)
    assert mailed(client) == [f"bomb+{n}@example.com" for n in range(cap)]
    advance(client, 3600)  # the hour is over on the mock's clock
    assert flood(client, 1) == [200]
