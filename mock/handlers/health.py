"""Operations of the ``health`` tag for the mock: the shared adapters of ``authspec.operations.health``."""

from authspec.operations.health import get_health, get_readiness

__all__ = ["get_health", "get_readiness"]
