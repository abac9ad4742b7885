"""Differential runs: one scripted scenario, step by step, against the real app and the mock.

Both apps are built fresh for each scenario with the shipped settings (limits and cooldowns as
in production) and a clock the scenario can move (the real app's ``MovableClock``, the mock's
``/__mock/clock``). Each step is sent to the real app, then to the mock; both answers must be the
contract's envelope and must agree on the status, the ``errorCode``, the generic message, the
auth headers and the shape of the body (keys and value types, recursively, with list lengths),
and on the values that are the same by design (``status``, ``current``, ``revokedSessions``,
``expiresIn``, ...). A difference fails with the step, the request and both answers.

Request parts may be callables of the side (``lambda side: side.vars["ada"].access``), so a step can
use what each app issued; ``step`` returns both answers for the scenario to remember things from.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .checks import assert_envelope
from .http import Http
from .mailbox import Mailbox, MemoryMailbox, OutboxMailbox

API = "/api/v1"
#: Values equal on both sides by design (the rest is compared by type only).
SAME_VALUES = {
    "status",
    "current",
    "revokedSessions",
    "expiresIn",
    "resendAfter",
    "tokenType",
    "firstName",
    "lastName",
    "email",
    "deviceName",
    "kty",
    "alg",
    "use",
    "crv",
}


class Different(AssertionError):
    """The real app and the mock answered a step differently."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    text: str

    @classmethod
    def of(cls, response: requests.Response) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = None
        return cls(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body, response.text)

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None


@dataclass
class Side:
    """One app of the pair, with what the scenario remembered from its answers."""

    name: str
    http: Http
    mailbox: Mailbox
    advance: Callable[[float], None]
    vars: dict[str, Any] = field(default_factory=dict)
    last: Answer | None = None

    def code_for(self, email: str) -> str:
        return self.mailbox.code_for(email)


Value = Any  # a value, or a callable of the Side that gives it


def _resolve(value: Value, side: Side) -> Any:
    return value(side) if callable(value) else value


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, list lengths, and the by-design values."""
    if isinstance(value, dict):
        return {k: (v if k in SAME_VALUES else shape(v)) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


def _essentials(answer: Answer) -> dict[str, Any]:
    body = answer.body
    found: dict[str, Any] = {"status": answer.status}
    for header in ("www-authenticate", "allow"):
        if header in answer.headers:
            found[header] = sorted(p.strip() for p in answer.headers[header].split(","))
    found["retry-after present"] = "retry-after" in answer.headers
    if isinstance(body, dict) and "isSuccess" in body:
        found["errorCode"] = body.get("errorCode")
        errors = body.get("errors") or []
        found["errors[0]"] = errors[0] if errors else None
        found["data shape"] = shape(body.get("data"))
    else:
        found["body shape"] = shape(body)
    return found


def _show(side: str, answer: Answer) -> str:
    try:
        text = json.dumps(answer.body, indent=2, sort_keys=True) if answer.body is not None else answer.text
    except (TypeError, ValueError):
        text = answer.text
    headers = {k: v for k, v in answer.headers.items() if k in ("retry-after", "www-authenticate", "allow")}
    return f"--- {side}: HTTP {answer.status} {headers}\n{text[:3000]}"


class Pair:
    """The real app and the mock, driven in lockstep."""

    def __init__(self, real: Side, mock: Side) -> None:
        self.sides = (real, mock)
        self.steps = 0

    def step(
        self,
        label: str,
        method: str,
        path: Value,
        *,
        json: Value = None,
        headers: Value = None,
        data: Value = None,
        expect: int | None = None,
    ) -> tuple[Answer, Answer]:
        """Send one request to both apps; fail when they differ (or when ``expect`` is not the status)."""
        self.steps += 1
        answers: list[Answer] = []
        for side in self.sides:
            kwargs: dict[str, Any] = {}
            if json is not None:
                kwargs["json"] = _resolve(json, side)
            if data is not None:
                kwargs["data"] = _resolve(data, side)
            sent_to = _resolve(path, side)
            answer = Answer.of(side.http.request(method, sent_to, headers=_resolve(headers, side) or {}, **kwargs))
            side.last = answer
            answers.append(answer)
        real, mock = answers
        shown = _resolve(path, self.sides[0])
        where = f"step {self.steps} ({label}): {method} {shown}"
        for side, answer in zip(self.sides, answers, strict=True):
            if shown.startswith(API) or answer.status >= 400:
                try:
                    assert_envelope(answer.body, answer.status)
                except AssertionError as exc:
                    raise Different(
                        f"{where}: the {side.name} answer is not the envelope: {exc}\n{_show(side.name, answer)}"
                    ) from None
        left, right = _essentials(real), _essentials(mock)
        if left != right:
            keys = [k for k in sorted(set(left) | set(right)) if left.get(k) != right.get(k)]
            differ = ", ".join(keys)
            raise Different(
                f"{where}: the real app and the mock differ in {differ}\n{_show('real', real)}\n{_show('mock', mock)}"
            )
        if expect is not None and real.status != expect:
            raise Different(
                f"{where}: both answered {real.status}, the scenario expects {expect}\n{_show('real', real)}"
            )
        return real, mock

    def check(self, label: str, predicate: Callable[[Side], bool]) -> None:
        """A fact about each side's own values (e.g. "the grace window returned the same successor")."""
        results = {side.name: predicate(side) for side in self.sides}
        if len(set(results.values())) != 1 or not all(results.values()):
            raise Different(f"after step {self.steps}: {label}: {results}")

    def remember(self, key: str, pick: Callable[[Answer], Any]) -> None:
        for side in self.sides:
            assert side.last is not None
            side.vars[key] = pick(side.last)

    def advance(self, seconds: float) -> None:
        for side in self.sides:
            side.advance(seconds)


@contextmanager
def pair(**settings: Any) -> Iterator[Pair]:
    """A fresh real app (temporary SQLite, in-memory mail, movable clock) and a fresh mock."""
    from authspec.handlers.app import create_app as create_real
    from authspec.mock.app import create_app as create_mock

    from authspec.clock import MovableClock
    from authspec.mail.memory import MemoryMailer
    from authspec.settings import Settings
    from authspec.spec import load_bundle

    from .targets import in_process_origin, response_validation

    settings = {**response_validation(), **settings}  # both sides validate every answer
    with tempfile.TemporaryDirectory(prefix="authspec-differential-") as tmp:
        workdir = Path(tmp)
        clock = MovableClock()
        mailer = MemoryMailer()
        real_app = create_real(
            Settings(
                database_url=f"sqlite:///{workdir / 'real.db'}",
                database_schema=None,
                redis_url=None,
                jwt_private_key_file=workdir / "keys.pem",
                mail_backend="memory",
                **settings,
            ),
            clock=clock,
            mailer=mailer,
        )
        mock_app = create_mock(Settings(**settings), spec=load_bundle())
        real_http = Http.in_process(real_app, in_process_origin("differential-real"))
        mock_http = Http.in_process(mock_app, in_process_origin("differential-mock"))

        def advance_mock(seconds: float) -> None:
            moved = mock_http.post("/__mock/clock", {"advanceSeconds": int(seconds)})
            assert moved.status_code == 200, moved.text

        def advance_real(seconds: float) -> None:
            clock.advance(seconds)

        real = Side("real", real_http, MemoryMailbox(mailer), advance_real)
        mock = Side("mock", mock_http, OutboxMailbox(mock_http), advance_mock)
        try:
            yield Pair(real, mock)
        finally:
            from schemathesis.python import asgi

            asgi.shutdown_lifespans()
