"""The targets and schemas of this run, built once per process when the suite's modules are collected.

Schemathesis parametrizes a test over schemas it is given at collection time (``from_fixture``,
the lazy alternative, does not work on pytest 9.2), so the in-process apps are built here, on
first use, and closed by the suite's session fixture. A target that cannot be used is kept with
its reason: ``live`` without ``AUTHSPEC_CONTRACT_URL`` is skipped, a misconfigured one fails.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .profile import Profile
from .targets import (
    NO_COOLDOWN,
    Target,
    TargetUnusable,
    live_target_from_env,
    mock_target,
    postgres_target,
    real_target,
    selected_targets,
)

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiSchema


@dataclass(frozen=True)
class Unavailable:
    reason: str
    fails: bool


_built: dict[str, Target | Unavailable] = {}
_stateful: dict[str, Target] = {}


def _build(name: str) -> Target | Unavailable:
    if name == "real":
        return real_target()
    if name == "mock":
        return mock_target()
    if name == "postgres":
        url = os.environ.get("AUTHSPEC_TEST_POSTGRES_URL")
        if not url:
            return Unavailable("AUTHSPEC_TEST_POSTGRES_URL is not set: no real app on PostgreSQL", False)
        return postgres_target(url)
    if name == "live":
        if not os.environ.get("AUTHSPEC_CONTRACT_URL"):
            return Unavailable(
                "AUTHSPEC_CONTRACT_URL is not set: no live target (`authspec contract --url URL`)", False
            )
        try:
            target = live_target_from_env()
        except TargetUnusable as exc:
            return Unavailable(str(exc), True)
        assert target is not None
        return target
    return Unavailable(f"unknown target {name!r} in AUTHSPEC_CONTRACT_TARGETS (real, postgres, mock, live)", True)


def _all() -> dict[str, Target | Unavailable]:
    if not _built:
        for name in selected_targets():
            _built[name] = _build(name)
    return _built


def targets() -> dict[str, Target]:
    return {name: t for name, t in _all().items() if isinstance(t, Target)}


def unavailable() -> dict[str, Unavailable]:
    found = {name: t for name, t in _all().items() if isinstance(t, Unavailable)}
    for name in ("real", "postgres", "mock", "live"):
        if name not in _all():
            found[name] = Unavailable(f"the {name} target is not selected (AUTHSPEC_CONTRACT_TARGETS)", False)
    return found


def stateful_target(name: str) -> Target | Unavailable:
    """The target of the stateful run: in-process, an app of its own without the resend cooldown."""
    found = _all().get(name) or unavailable().get(name) or Unavailable(f"unknown target {name!r}", True)
    if not isinstance(found, Target) or name not in ("real", "postgres", "mock"):
        return found
    if name not in _stateful:
        if name == "real":
            _stateful[name] = real_target(**NO_COOLDOWN)
        elif name == "postgres":
            _stateful[name] = postgres_target(os.environ["AUTHSPEC_TEST_POSTGRES_URL"], **NO_COOLDOWN)
        else:
            _stateful[name] = mock_target(**NO_COOLDOWN)
    return _stateful[name]


def schemas(profile: Profile) -> dict[str, OpenApiSchema]:
    from .schema import load_schema

    return {name: load_schema(target, profile) for name, target in targets().items()}


def close_all() -> dict[str, Any]:
    """Close every target built; returns each one's own call and login counts."""
    counts: dict[str, Any] = {}
    for name, target in [*_built.items(), *_stateful.items()]:
        if isinstance(target, Target):
            count = counts.setdefault(name, {"own": 0, "logins": 0})
            count["own"] += target.http.calls
            count["logins"] += target.auth.provider.logins
            target.close()
    _built.clear()
    _stateful.clear()
    return counts
