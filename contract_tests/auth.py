"""Logging in to a target through the email-code flow, and the Schemathesis auth provider built on it.

``login`` asks for a code, reads it from the target's mailbox, verifies it and, for a new email,
completes registration: every login of the provider uses a fresh address, so no per-email resend
cooldown stands in the way and each run's users are its own. A target without a mailbox (a live
URL given only ``AUTHSPEC_CONTRACT_TOKEN`` / ``AUTHSPEC_CONTRACT_REFRESH_TOKEN``) uses those tokens,
refreshing when the access token is refused.

Operations behind ``resourceServerAuth`` (introspection and the revocation feed) get HTTP Basic
credentials of a resource server instead (``ResourceServerAuth``): the in-process service is
configured with the suite's client (``CONTRACT_CLIENT``), the mock accepts its documented
development client, and a live target takes ``AUTHSPEC_CONTRACT_INTROSPECTION_CLIENT=id:secret``.

Operations end sessions (logout, revoke-token, revokeSession, refresh-token reuse), and the
provider's own session is among the ones they may end. The provider is wrapped in Schemathesis'
caching provider with ``retry_on=[401]``: a call refused with 401 logs in again and is replayed
once; and the tracker drops the cached login as soon as it sees the provider's session end, so the
next call already carries a live token instead of failing first.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemathesis.auths import CachingAuthProvider, SelectiveAuthProvider
from schemathesis.filters import FilterSet

from .http import Http
from .mailbox import Mailbox

if TYPE_CHECKING:
    from schemathesis import AuthContext, Case

    from .tracker import Tracker

API = "/api/v1"
#: A login is not cached longer than this (access tokens live an hour by default).
REFRESH_INTERVAL = 600
#: The resource server the in-process service is configured with (``contract_client_setting``).
CONTRACT_CLIENT = ("contract-suite", "contract-suite-secret")
#: The mock's documented development client (``authspec.resource_clients``).
DEV_CLIENT = ("dev-resource-server", "dev-secret")


def contract_client_setting(client: tuple[str, str] = CONTRACT_CLIENT) -> str:
    """``AUTHSPEC_INTROSPECTION_CLIENTS`` naming ``client``."""
    return f"{client[0]}:{hashlib.sha256(client[1].encode()).hexdigest()}"


def resource_client_from_env() -> tuple[str, str] | None:
    value = os.environ.get("AUTHSPEC_CONTRACT_INTROSPECTION_CLIENT")
    if not value or ":" not in value:
        return None
    client_id, _, secret = value.partition(":")
    return client_id, secret


class LoginFailed(RuntimeError):
    """The target did not let the suite log in; the message says which step answered what."""


@dataclass
class Identity:
    email: str
    access: str
    refresh: str


_run = uuid.uuid4().hex[:8]
_counter = itertools.count(1)


def fresh_email(prefix: str = "contract") -> str:
    """An address no earlier run used: the target registers it."""
    return f"{prefix}-{_run}-{next(_counter)}@example.com"


def _expect(answer: Any, status: int, step: str) -> Any:
    if answer.status_code != status:
        raise LoginFailed(f"{step}: expected {status}, got {answer.status_code}: {answer.text[:500]}")
    return answer.json()["data"]


def request_code(http: Http, mailbox: Mailbox, email: str) -> str | None:
    """Ask for a code and read it from the mailbox; None when the target answers 429 (cooldown or limit)."""
    answer = http.post(f"{API}/auth/email/request-code", {"email": email})
    if answer.status_code == 429:
        return None
    _expect(answer, 200, f"request a code for {email}")
    return mailbox.code_for(email)


def login(http: Http, mailbox: Mailbox, email: str | None = None, *, device: str = "contract suite") -> Identity:
    """Log ``email`` (default: a fresh one) in, registering it when the target does not know it."""
    email = email or fresh_email()
    code = request_code(http, mailbox, email)
    if code is None:
        raise LoginFailed(f"request a code for {email}: 429 (cooldown or per-IP limit; raise the target's limits)")
    data = _expect(
        http.post(f"{API}/auth/email/verify", {"email": email, "code": code, "deviceName": device}),
        200,
        f"verify the code of {email}",
    )
    if data["status"] == "registration_required":
        body = {
            "registrationToken": data["registrationToken"],
            "firstName": "Contract",
            "lastName": "Suite",
            "deviceName": device,
        }
        data = _expect(http.post(f"{API}/auth/register", body), 201, f"register {email}")
    tokens = data["tokens"]
    return Identity(email, tokens["accessToken"], tokens["refreshToken"])


class SessionAuth:
    """The auth provider: a logged-in identity per target, replaced when its session ends."""

    def __init__(self, http: Http, mailbox: Mailbox | None, tracker: Tracker, static: Identity | None = None) -> None:
        self.http = http
        self.mailbox = mailbox
        self.tracker = tracker
        self.static = static
        self.current: Identity | None = None
        self.logins = 0
        self.issued: set[str] = set()  # every access token this provider handed out

    def fetch(self) -> Identity:
        if self.mailbox is not None:
            identity = login(self.http, self.mailbox)
        else:
            identity = self._from_static()
        self.logins += 1
        self.tracker.learn_pair(identity.access, identity.refresh)
        self.issued.add(identity.access)
        self.current = identity
        return identity

    def _from_static(self) -> Identity:
        if self.static is None:
            raise LoginFailed("no way to log in: give a mailbox, or AUTHSPEC_CONTRACT_TOKEN/REFRESH_TOKEN")
        if self.current is None:
            self.current = self.static
            return self.static
        # The static access token was refused: rotate the refresh token for a new pair.
        answer = self.http.post(f"{API}/auth/refresh", {"refreshToken": self.current.refresh})
        data = _expect(answer, 200, "refresh AUTHSPEC_CONTRACT_REFRESH_TOKEN")
        return Identity(self.current.email, data["accessToken"], data["refreshToken"])

    # The AuthProvider protocol.
    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        return self.fetch().access

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        # A link may already have put a token of its own chain on the case (one the target issued in
        # an earlier answer): that one stays. Anything else is replaced: a token this provider handed
        # out earlier (a replay after 401 must carry the new login) or a generated credential.
        headers = case.headers if case.headers is not None else {}
        present = next((name for name in headers if name.lower() == "authorization"), None)
        if present is not None:
            token = str(headers[present]).removeprefix("Bearer ")
            if token in self.tracker.access and token not in self.issued:
                return
            del headers[present]
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


def _schemes(ctx: Any) -> set[str]:
    raw = ctx.operation.definition.raw
    security = raw.get("security") if isinstance(raw, dict) else None
    return {name for requirement in security or [] for name in requirement}


def _secured(ctx: Any) -> bool:
    return "bearerAuth" in _schemes(ctx)


def _resource_server(ctx: Any) -> bool:
    return "resourceServerAuth" in _schemes(ctx)


class ResourceServerAuth:
    """HTTP Basic of a resource server, for the operations behind ``resourceServerAuth``."""

    def __init__(self, client: tuple[str, str]) -> None:
        self.value = "Basic " + base64.b64encode(f"{client[0]}:{client[1]}".encode()).decode()

    def get(self, case: Case[Any], ctx: AuthContext) -> str:
        return self.value

    def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
        headers = case.headers if case.headers is not None else {}
        for name in [name for name in headers if name.lower() == "authorization"]:
            del headers[name]
        headers["Authorization"] = data
        case.headers = headers


class ProviderHandle:
    """The cached provider as installed on a schema (only for operations that declare security),
    and the hook that drops its login."""

    def __init__(self, provider: SessionAuth, resource_client: tuple[str, str] = CONTRACT_CLIENT) -> None:
        self.provider = provider
        self.resource_server: SelectiveAuthProvider[str] = SelectiveAuthProvider(
            ResourceServerAuth(resource_client), FilterSet().with_include(_resource_server)
        )
        self.cached: CachingAuthProvider[str] = CachingAuthProvider(
            provider, refresh_interval=REFRESH_INTERVAL, retry_on=[401]
        )
        self.installed: SelectiveAuthProvider[str] = SelectiveAuthProvider(
            self.cached, FilterSet().with_include(_secured)
        )
        provider.tracker.on_end.append(self.session_ended)

    def session_ended(self, token: str) -> None:
        current = self.provider.current
        if current is not None and current.access == token:
            self.cached.invalidate()


def static_identity_from_env() -> Identity | None:
    access = os.environ.get("AUTHSPEC_CONTRACT_TOKEN")
    if not access:
        return None
    return Identity("(AUTHSPEC_CONTRACT_TOKEN)", access, os.environ.get("AUTHSPEC_CONTRACT_REFRESH_TOKEN", ""))
