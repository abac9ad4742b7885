"""The suite's own requests to a target (logins, code look-ups, probes), in-process or over the network.

Both transports are ``requests`` sessions: Schemathesis' ASGI client for an app in this process
(it shares the app's lifespan with the calls Schemathesis makes), a plain session for a URL.
Every request carries the target's fixed headers (``X-Mock-Namespace`` for a live mock) and is
counted, so a run can say how many calls were its own rather than generated.
"""

from __future__ import annotations

from typing import Any

import requests

#: Seconds a live target gets per request.
TIMEOUT = 30


class Http:
    def __init__(self, session: requests.Session, base: str, headers: dict[str, str] | None = None) -> None:
        self.session = session
        self.base = base.rstrip("/")
        self.headers = dict(headers or {})
        self.calls = 0

    @classmethod
    def in_process(cls, app: Any, origin: str, headers: dict[str, str] | None = None) -> Http:
        from schemathesis.python import asgi

        client = asgi.get_client(app)
        # Entered for good: the client restarts the lifespan when the pytest plugin has ended it.
        client.__enter__()
        return cls(client, origin, headers)

    @classmethod
    def remote(cls, base: str, headers: dict[str, str] | None = None) -> Http:
        return cls(requests.Session(), base, headers)

    def request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        self.calls += 1
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(
            method, self.base + path, json=json, headers={**self.headers, **(headers or {})}, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=json, **kwargs)
