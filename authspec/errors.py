"""The one exception tree of authspec, each class carrying an HTTP status and a stable errorCode.

Services raise these; they are never returned. ``authspec.app`` renders every one of them (and
every error Connexion or Starlette raises) in the response envelope. The ``code`` of a class is
part of the contract: it must appear in ``ErrorCode`` of ``openapi/components/common.yaml`` and
is never renamed (``authspec check`` compares the two lists).

    AuthspecError
    ├── BadRequest (400)            validation_failed, malformed_request
    ├── Unauthorized (401)          authentication_required, invalid_token, token_expired,
    │                               session_ended, invalid_code, invalid_registration_token,
    │                               invalid_refresh_token, refresh_token_reused, invalid_client
    ├── Forbidden (403)             forbidden
    ├── NotFound (404)              not_found, session_not_found, refresh_token_not_found
    ├── MethodNotAllowed (405)      method_not_allowed
    ├── Conflict (409)              already_registered, session_already_revoked,
    │                               refresh_token_already_revoked
    ├── PayloadTooLarge (413)       payload_too_large
    ├── UnsupportedMediaType (415)  unsupported_media_type
    ├── TooManyRequests (429)       rate_limited, too_many_attempts (with Retry-After)
    ├── InternalError (500)         internal_error
    ├── NotImplementedOperation (501) not_implemented
    └── ServiceUnavailable (503)    service_unavailable
"""

from __future__ import annotations

from collections.abc import Mapping

#: The first entry of ``errors`` for each status: the generic message clients can rely on.
GENERIC_MESSAGES: Mapping[int, str] = {
    400: "Validation failed",
    401: "Authentication required",
    403: "Insufficient permissions",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Resource already exists or cannot be changed in its current state",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
    503: "Service unavailable",
}


def generic_message(status: int) -> str:
    """The generic first message of an error status."""
    return GENERIC_MESSAGES.get(status, "Request failed")


class AuthspecError(Exception):
    """Base of every error a request can end in; ``status`` and ``code`` are its contract."""

    status: int = 500
    code: str = "internal_error"
    codes: tuple[str, ...] = ("internal_error",)

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        details: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if code is not None:
            if code not in self.codes:
                raise ValueError(f"{type(self).__name__} does not carry errorCode {code!r}")
            self.code = code
        self.details = list(details or ([] if detail is None else [detail]))
        self.headers = dict(headers or {})
        super().__init__(detail or self.code)

    @property
    def messages(self) -> list[str]:
        """``errors`` of the envelope: the generic message, then the details."""
        return [generic_message(self.status), *self.details]


class BadRequest(AuthspecError):
    status = 400
    code = "validation_failed"
    codes = ("validation_failed", "malformed_request")


class Unauthorized(AuthspecError):
    status = 401
    code = "authentication_required"
    codes = (
        "authentication_required",
        "invalid_token",
        "token_expired",
        "session_ended",
        "invalid_code",
        "invalid_registration_token",
        "invalid_refresh_token",
        "refresh_token_reused",
        "invalid_client",
    )

    #: The codes of a refused bearer token: only these 401s come from operations with bearer
    #: security. The others refuse a credential in the body (a code, a registration or refresh
    #: token) of an operation without bearer auth, where a Bearer challenge would be wrong.
    bearer_codes = ("authentication_required", "invalid_token", "token_expired", "session_ended")

    def __init__(self, detail: str | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        # RFC 9110 §11.6.1: a 401 of a bearer operation names its scheme; RFC 6750 §3.1 adds the
        # error for bad tokens.
        if self.code == "authentication_required":
            self.headers.setdefault("WWW-Authenticate", 'Bearer realm="authspec"')
        elif self.code in self.bearer_codes:
            self.headers.setdefault("WWW-Authenticate", 'Bearer realm="authspec", error="invalid_token"')
        elif self.code == "invalid_client":  # a resource server's HTTP Basic credentials (RFC 7617)
            self.headers.setdefault("WWW-Authenticate", 'Basic realm="authspec"')


class Forbidden(AuthspecError):
    status = 403
    code = "forbidden"
    codes = ("forbidden",)


class NotFound(AuthspecError):
    status = 404
    code = "not_found"
    codes = ("not_found", "session_not_found", "refresh_token_not_found")


class MethodNotAllowed(AuthspecError):
    status = 405
    code = "method_not_allowed"
    codes = ("method_not_allowed",)


class Conflict(AuthspecError):
    status = 409
    code = "already_registered"
    codes = ("already_registered", "session_already_revoked", "refresh_token_already_revoked")


class PayloadTooLarge(AuthspecError):
    status = 413
    code = "payload_too_large"
    codes = ("payload_too_large",)


class UnsupportedMediaType(AuthspecError):
    status = 415
    code = "unsupported_media_type"
    codes = ("unsupported_media_type",)


class TooManyRequests(AuthspecError):
    """429; ``retry_after`` seconds become the ``Retry-After`` header."""

    status = 429
    code = "rate_limited"
    codes = ("rate_limited", "too_many_attempts")

    def __init__(self, detail: str | None = None, *, retry_after: int, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)


class InternalError(AuthspecError):
    status = 500
    code = "internal_error"
    codes = ("internal_error",)


class NotImplementedOperation(AuthspecError):
    status = 501
    code = "not_implemented"
    codes = ("not_implemented",)


class ServiceUnavailable(AuthspecError):
    status = 503
    code = "service_unavailable"
    codes = ("service_unavailable",)


def all_error_classes() -> list[type[AuthspecError]]:
    """Every concrete error class, for the catalogue check against the spec."""
    return [AuthspecError, *_subclasses(AuthspecError)]


def _subclasses(cls: type[AuthspecError]) -> list[type[AuthspecError]]:
    found: list[type[AuthspecError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def all_error_codes() -> set[str]:
    """Every errorCode the code base can emit."""
    return {code for cls in all_error_classes() for code in cls.codes}


_BY_STATUS: dict[int, type[AuthspecError]] = {}


def error_for_status(status: int) -> type[AuthspecError]:
    """The error class of an HTTP status (InternalError for statuses outside the tree)."""
    if not _BY_STATUS:
        for cls in _subclasses(AuthspecError):
            _BY_STATUS.setdefault(cls.status, cls)
    return _BY_STATUS.get(status, InternalError)
