"""The differential run: every scripted scenario against the real app and the mock, step by step."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .differential import Pair, pair
from .scenarios import SCENARIOS


@pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
def test_real_and_mock_agree(scenario: Callable[[Pair], None]) -> None:
    with pair() as both:
        scenario(both)
        assert both.steps > 0
