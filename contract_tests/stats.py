"""How many calls a run made: generated ones (counted by Schemathesis' ``after_call`` hook, per
target) and the suite's own (logins, code look-ups, probes). Printed at the end of a pytest run and
written as JSON to ``AUTHSPEC_CONTRACT_STATS`` when set (``authspec contract`` reads it)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import schemathesis

from .targets import target_of

if TYPE_CHECKING:
    from schemathesis import Case, HookContext, Response

GENERATED: Counter[str] = Counter()
OWN: Counter[str] = Counter()
LOGINS: Counter[str] = Counter()


@schemathesis.hook
def after_call(context: HookContext, case: Case[Any], response: Response) -> None:
    target = target_of(case)
    GENERATED[target.name if target is not None else "unknown"] += 1


def record_target(name: str, own_calls: int, logins: int) -> None:
    OWN[name] = own_calls
    LOGINS[name] = logins


def summary() -> dict[str, Any]:
    return {
        "generated": dict(GENERATED),
        "generatedTotal": sum(GENERATED.values()),
        "own": dict(OWN),
        "logins": dict(LOGINS),
    }


def write(path: str | None = None) -> None:
    path = path or os.environ.get("AUTHSPEC_CONTRACT_STATS")
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(summary(), indent=2) + "\n", encoding="utf-8")
