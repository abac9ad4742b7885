"""Operations of the ``sessions`` tag for the real service: the shared adapters of ``authspec.operations.sessions``."""

from authspec.operations.sessions import list_sessions, logout, revoke_session

__all__ = ["list_sessions", "logout", "revoke_session"]
