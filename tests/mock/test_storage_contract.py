"""The mock's in-memory world passes the very storage contract the SQL repository passes.

``tests/service/storage_contract.py`` states what every implementation of
``authspec.services.ports`` must do (atomic attempts, compare-and-set revocation, one winner of a
rotation race, fixed rate-limit windows); running it here is what keeps the mock's world and the
real service's storage from drifting apart.
"""

from __future__ import annotations

import pytest
from authspec.mock.world import MemoryRateLimiter, MemoryRepository

from tests.service.storage_contract import RateLimiterContract, RepositoryContract


class TestMemoryRepository(RepositoryContract):
    @pytest.fixture
    async def repo(self) -> MemoryRepository:
        return MemoryRepository()


class TestMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    async def limiter(self) -> MemoryRateLimiter:
        return MemoryRateLimiter()
