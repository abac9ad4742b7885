"""Fixtures of the verifier's tests: the asyncio backend for anyio and a fake authspec."""

from __future__ import annotations

import pytest

from tests.verify.fake import FakeAuthspec


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake() -> FakeAuthspec:
    return FakeAuthspec()
