"""``deploy/nginx.conf`` lets the revocation feed's longest long-poll through: the feed's location
reads for longer than the contract's maximum ``wait`` and does not retry on a timeout (a retried
long-poll ran twice and took a healthy instance out of the upstream)."""

from __future__ import annotations

import re
from pathlib import Path

from authspec.spec import load_bundle

ROOT = Path(__file__).resolve().parents[2]


def _location(conf: str, path: str) -> str:
    found = re.search(r"location = " + re.escape(path) + r" \{(.*?)\n        \}", conf, re.S)
    assert found is not None, f"deploy/nginx.conf has no location = {path}"
    return found.group(1)


def test_the_feeds_longest_long_poll_outlasts_no_proxy_timeout() -> None:
    params = load_bundle()["paths"]["/auth/revocations"]["get"]["parameters"]
    longest_wait = next(p["schema"]["maximum"] for p in params if p["name"] == "wait")
    feed = _location((ROOT / "deploy" / "nginx.conf").read_text(), "/api/v1/auth/revocations")
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", feed)
    assert read_timeout is not None and int(read_timeout.group(1)) >= longest_wait + 5
    retried_on = re.search(r"proxy_next_upstream ([^;]*);", feed)
    assert retried_on is not None and "timeout" not in retried_on.group(1).split()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in feed
