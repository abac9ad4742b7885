"""The mock keeps no metrics: ``GET /metrics`` answers the 404 envelope the contract declares for it
(whatever ``AUTHSPEC_METRICS`` says), in every namespace, and ``Prefer: example`` still works."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.helpers import assert_error


def test_the_mock_answers_metrics_with_the_declared_404(client: TestClient) -> None:
    assert_error(client.get("/metrics"), 404, "not_found")


def test_the_mock_serves_the_metrics_example_when_asked(client: TestClient) -> None:
    answer = client.get("/metrics", headers={"Prefer": "example=metrics"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "authspec_requests_total" in answer.text
