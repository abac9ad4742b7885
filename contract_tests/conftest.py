"""Fixtures of the contract suite: the run profile, closing the targets at the end of the run, and
the run's call counts in the terminal summary (and in ``AUTHSPEC_CONTRACT_STATS``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import stats, suite
from .profile import Profile


@pytest.fixture(scope="session")
def profile() -> Profile:
    return Profile.from_env()


@pytest.fixture(scope="session", autouse=True)
def _close_targets() -> Iterator[None]:
    yield
    for name, counts in suite.close_all().items():
        stats.record_target(name, counts["own"], counts["logins"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give Schemathesis' per-operation items their ids back (``test_operation[mock][GET /auth/me]``).

    pytest 9.2 builds a function's node id from ``originalname`` and the callspec; Schemathesis 4.32
    puts the operation in ``name`` only, so every item of a schema would share one id (and one junit
    entry). This rebuilds the id from the name for those items and leaves every other item alone.
    """
    for item in items:
        original = getattr(item, "originalname", None)
        if not isinstance(item, pytest.Function) or not hasattr(item, "operation_label") or not original:
            continue
        if (
            item.name.startswith(f"{original}[")
            and item.name.endswith("]")
            and "[" not in item.nodeid.rpartition("::")[2]
        ):
            item._id = item.parent.id.child(original).with_params(item.name[len(original) + 1 : -1])  # type: ignore[union-attr]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    summary = stats.summary()
    if not summary["generatedTotal"]:
        return
    per_target = ", ".join(f"{name} {count}" for name, count in sorted(summary["generated"].items()))
    own = ", ".join(
        f"{name} {count} ({summary['logins'].get(name, 0)} logins)" for name, count in sorted(summary["own"].items())
    )
    terminalreporter.write_sep("-", "contract suite")
    terminalreporter.write_line(f"generated calls: {summary['generatedTotal']} ({per_target})")
    if own:
        terminalreporter.write_line(f"the suite's own calls: {own}")
    stats.write()
