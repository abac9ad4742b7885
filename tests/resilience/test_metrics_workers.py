"""``authspec serve --workers 2`` (a real process): ``/metrics`` adds up both workers' counts —
after N requests, answered by both workers (read from ``/proc``, as ``test_workers`` does), the
request counter says N whichever worker serves the scrape; the workers share one fresh
multiprocess directory of the run's own, removed when the server stops."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from authspec.metrics import MULTIPROC_ENV
from tests.helpers import ServerProcess
from tests.resilience.test_workers import answers_until_both, environment_of, two_workers, workers_of

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the process tree from Linux's /proc"),
]
__all__ = ["two_workers"]  # the fixture, used by name


def health_count(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "authspec_requests_total" and sample.labels == {
                "operation": "getHealth",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_metrics_add_up_both_workers_counts(two_workers: Callable[..., ServerProcess]) -> None:
    with two_workers() as server:
        workers = workers_of(server.process.pid)
        assert len(workers) == 2
        directories = {environment_of(pid).get(MULTIPROC_ENV) for pid in workers}
        assert len(directories) == 1 and None not in directories
        directory = Path(str(directories.pop()))

        answered = answers_until_both(server.port, workers)
        assert set(answered) == workers  # both served some of the requests
        for _ in range(3):  # whichever worker serves the scrape
            assert health_count(server.url) == len(answered)
    assert not directory.exists()
