"""Guards for every test: none may leave an ``AUTHSPEC_*`` variable changed in this process.

Settings are read from the environment, so a variable a test (or a command it runs in-process)
sets and does not restore changes every later test's app: a leaked
``AUTHSPEC_MIGRATE_ON_START=false`` once made later apps start on unmigrated databases. The test
that leaks fails, naming the variables.

Every test runs with response validation on (``AUTHSPEC_VALIDATE_RESPONSES=true``, set here for the
whole run unless the environment already sets it, and kept by ``tests.helpers.clean_env`` for the
processes tests start): the mock and a prod service leave it off by default, the tests never do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

#: Response validation for the whole run (the fixtures of tests/mock and tests/service also set it on
#: their apps, through ``contract_tests.targets.response_validation``); an explicit value wins.
os.environ.setdefault("AUTHSPEC_VALIDATE_RESPONSES", "true")


def _settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("AUTHSPEC_")}


@pytest.fixture(autouse=True)
def _no_leaked_settings() -> Iterator[None]:
    before = _settings()
    yield
    after = _settings()
    if after != before:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for name in changed:  # restore, so one leak fails one test rather than every later one
            if name in before:
                os.environ[name] = before[name]
            else:
                os.environ.pop(name, None)
        pytest.fail(f"the test left AUTHSPEC_* variables changed: {changed}", pytrace=False)
