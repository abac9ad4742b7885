"""Operations of the ``sessions`` tag for the mock: the shared adapters of ``authspec.operations.sessions``,
run against the request's in-memory world."""

from authspec.operations.sessions import list_sessions, logout, revoke_session

__all__ = ["list_sessions", "logout", "revoke_session"]
