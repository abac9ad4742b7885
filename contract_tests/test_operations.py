"""Per-operation property tests: Schemathesis' examples, coverage and fuzzing phases (positive and
negative data) for every operation of the contract, with every built-in check and ours, on each
target: ``test_operation[real][POST /auth/refresh]``, ``[mock]``, ``[live]``."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis import Case

from . import suite
from .checks import operation_id
from .profile import Profile
from .targets import target_of

PROFILE = Profile.from_env()
PROPERTY_PHASES = {"examples", "coverage", "fuzzing"} & set(PROFILE.phases)
SCHEMAS = suite.schemas(PROFILE) if PROPERTY_PHASES else {}


def _positive(case: Case[Any]) -> bool:
    return case.meta is None or case.meta.generation.mode.is_positive


if SCHEMAS:

    @schemathesis.pytest.parametrize(**SCHEMAS)
    def test_operation(case: Case[Any]) -> None:
        target = target_of(case)
        if target is not None and not target.can_login and operation_id(case) == "logout" and _positive(case):
            # Only the given tokens: their session must outlive the run, so logout leaves it alone.
            case.body = {"scope": "others"}
        case.call_and_validate()


@pytest.mark.parametrize("name", sorted(suite.unavailable()))
def test_operation_target_unavailable(name: str) -> None:
    missing = suite.unavailable()[name]
    if missing.fails:
        pytest.fail(missing.reason, pytrace=False)
    pytest.skip(missing.reason)
