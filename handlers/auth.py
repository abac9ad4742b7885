"""Operations of the ``auth`` tag for the real service: the shared adapters of ``authspec.operations.auth``."""

from authspec.operations.auth import complete_registration, get_current_user, request_email_code, verify_email_code

__all__ = ["complete_registration", "get_current_user", "request_email_code", "verify_email_code"]
