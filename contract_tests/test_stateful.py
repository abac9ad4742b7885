"""Stateful tests: sequences that follow the document's links (with real codes for verify), every
built-in check and ours on every step — among them that an ended session's tokens are refused at once."""

from __future__ import annotations

import hypothesis
import pytest

from . import suite
from .profile import Profile
from .schema import load_schema
from .stateful import build_state_machine


@pytest.mark.parametrize("name", ["real", "postgres", "mock", "live"])
def test_links(name: str, profile: Profile) -> None:
    if not profile.stateful:
        pytest.skip("the stateful phase is not selected (AUTHSPEC_CONTRACT_PHASES)")
    target = suite.stateful_target(name)
    if isinstance(target, suite.Unavailable):
        if target.fails:
            pytest.fail(target.reason, pytrace=False)
        pytest.skip(target.reason)
    if not target.can_login:
        pytest.skip("stateful sequences start with a login; the target gives the suite no way to read codes")
    machine = build_state_machine(load_schema(target, profile, stateful=True), target)
    machine.run(
        settings=hypothesis.settings(
            max_examples=profile.stateful_examples,
            stateful_step_count=profile.stateful_steps,
            deadline=None,
            database=None,
            derandomize=profile.seed is not None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
