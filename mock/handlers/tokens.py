"""Operations of the ``tokens`` tag for the mock: the shared adapters of ``authspec.operations.tokens``,
run against the request's in-memory world."""

from authspec.operations.tokens import get_jwks, refresh_token, revoke_refresh_token

__all__ = ["get_jwks", "refresh_token", "revoke_refresh_token"]
