"""Operations of the ``tokens`` tag for the real service: the shared adapters of ``authspec.operations.tokens``."""

from authspec.operations.tokens import get_jwks, refresh_token, revoke_refresh_token

__all__ = ["get_jwks", "refresh_token", "revoke_refresh_token"]
