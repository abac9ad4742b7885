"""Our checks, run by Schemathesis on every response next to its built-in ones.

- ``envelope_invariants``: every JSON answer except the JWK Set is the envelope, and consistent:
  ``statusCode`` equals the HTTP status, ``isSuccess`` exactly when it is below 400, ``errors``
  (starting with the status' generic message) and ``errorCode`` exactly on errors, ``data`` null on
  errors, ``timestamp`` an RFC 3339 UTC instant.
- ``no_secret_echo``: no code, refresh or registration token or bearer token the request carried
  comes back, in the body or a header; and no secret-bearing key (``accessToken``, ``refreshToken``,
  ``registrationToken``, ``code``, ...) appears where the response schema does not declare it, and
  no JWK carries private key material (``d``, ``k``, ...).
- ``declared_auth_headers``: a 401 of a bearer operation carries ``WWW-Authenticate: Bearer`` (of any other
  operation, none), 429 a positive integer ``Retry-After``.
- ``session_end_enforced`` (stateful): after a successful logout, revoke-token or revokeSession, or a
  refresh refused as ``refresh_token_reused``, the ended sessions' access tokens get 401 at once
  (logout ``others`` leaves the caller's own token working); and a token of a session the suite saw
  end is never accepted again, by any operation.

The checks find the target a case went to (its tracker and HTTP client) by the case's base URL
(``contract_tests.targets.target_of``); for a target the suite did not build, the session check has
nothing to probe and passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import schemathesis

from authspec.errors import generic_message
from authspec.spec import SCHEMA_REF_PREFIX

from .targets import target_of

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
ERROR_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ENVELOPE_KEYS = {"isSuccess", "statusCode", "data", "errors", "errorCode", "timestamp"}
#: Keys whose values are secrets: they may appear only where the response schema declares them.
SECRET_KEYS = {"accessToken", "refreshToken", "registrationToken", "code", "token", "password", "secret", "otp"}
CODE = re.compile(r"^[0-9]{6}$")
OPAQUE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
#: Members of a JWK that only a private (or symmetric) key has (RFC 7518 §6).
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
#: Operations whose success is a standard document, not the envelope: the JWK Set, Prometheus text.
UNENVELOPED = {"getJwks", "getMetrics"}


def operation_id(case: Case[Any]) -> str | None:
    raw = case.operation.definition.raw
    found = raw.get("operationId") if isinstance(raw, dict) else None
    return found if isinstance(found, str) else None


def header(response: Response, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name.lower() and values:
            return str(values[0])
    return None


def body_of(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def sent_body(case: Case[Any]) -> Any:
    body = case.body
    return body if isinstance(body, dict | list) else None


def bearer_token(case: Case[Any], response: Response) -> str | None:
    """The bearer token the request actually carried."""
    value = response.request.headers.get("Authorization") if response.request is not None else None
    if value is None and case.headers:
        value = next((v for k, v in case.headers.items() if k.lower() == "authorization"), None)
    if not isinstance(value, str) or not value.startswith("Bearer "):
        return None
    return value[len("Bearer ") :].strip() or None


# --- envelope ---------------------------------------------------------------------------------


def assert_envelope(body: Any, status: int) -> None:
    """Fail unless ``body`` is the envelope of an answer with HTTP ``status``."""
    assert isinstance(body, dict), f"the body is not the envelope (a JSON object): {body!r:.300}"
    keys = set(body)
    assert keys == ENVELOPE_KEYS, (
        f"envelope keys differ: missing {sorted(ENVELOPE_KEYS - keys)}, unexpected {sorted(keys - ENVELOPE_KEYS)}"
    )
    assert body["statusCode"] == status, f"statusCode is {body['statusCode']!r} but the HTTP status is {status}"
    assert body["isSuccess"] is (status < 400), f"isSuccess is {body['isSuccess']!r} for HTTP {status}"
    stamp = body["timestamp"]
    assert isinstance(stamp, str) and TIMESTAMP.match(stamp), f"timestamp {stamp!r} is not RFC 3339 UTC (…Z)"
    try:
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionError(f"timestamp {stamp!r} is not a real instant") from None
    errors, code = body["errors"], body["errorCode"]
    if status < 400:
        assert errors == [], f"a success carries errors: {errors!r}"
        assert code is None, f"a success carries errorCode {code!r}"
    else:
        assert body["data"] is None, f"an error carries data: {body['data']!r:.200}"
        assert isinstance(errors, list) and errors, "an error without errors"
        assert all(isinstance(e, str) and e for e in errors), f"errors must be non-empty strings: {errors!r}"
        assert errors[0] == generic_message(status), (
            f"errors[0] is {errors[0]!r}, not the generic message of {status} ({generic_message(status)!r})"
        )
        assert isinstance(code, str) and ERROR_CODE.match(code), f"errorCode {code!r} is not a snake_case code"


@schemathesis.check
def envelope_invariants(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if operation_id(case) in UNENVELOPED and response.status_code < 400:
        body = body_of(response)
        assert not (isinstance(body, dict) and "isSuccess" in body), "a standard document must not be enveloped"
        return None
    content_type = header(response, "Content-Type") or ""
    assert content_type.startswith("application/json"), f"Content-Type is {content_type!r}, not application/json"
    assert_envelope(body_of(response), response.status_code)
    return None


# --- secrets ----------------------------------------------------------------------------------


def _secrets_sent(case: Case[Any], response: Response) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    token = bearer_token(case, response)
    if token is not None and len(token) >= 16:
        found.append(("the bearer token", token))
    body = sent_body(case)
    if isinstance(body, dict):
        for key in ("refreshToken", "registrationToken"):
            value = body.get(key)
            if isinstance(value, str) and OPAQUE.match(value):
                found.append((f"the {key} sent", value))
        code = body.get("code")
        if isinstance(code, str) and CODE.match(code):
            found.append(("the code sent", code))
    return found


def _occurs(secret: str, text: str) -> bool:
    # Whole-word: a 6-digit code inside a longer run of letters or digits (a UUID, a JWT) is not an echo.
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(secret)}(?![A-Za-z0-9_-])", text) is not None


def _declared_names(schema: Any, named: dict[str, Any], seen: frozenset[str] = frozenset()) -> Iterator[str]:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF_PREFIX):  # a named schema of the document
            name = ref[len(SCHEMA_REF_PREFIX) :]
            if name not in seen:
                yield from _declared_names(named.get(name), named, seen | {name})
            return
        for name, sub in (schema.get("properties") or {}).items():
            yield name
            yield from _declared_names(sub, named, seen)
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key) or []:
                yield from _declared_names(sub, named, seen)
        for key in ("items", "additionalProperties", "not"):
            if isinstance(schema.get(key), dict):
                yield from _declared_names(schema[key], named, seen)


def declared_keys(case: Case[Any], status: int) -> set[str]:
    raw = case.operation.definition.raw
    responses = raw.get("responses", {}) if isinstance(raw, dict) else {}
    declared = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default") or {}
    content = (declared.get("content") or {}).get("application/json") or {}
    document = case.operation.schema.raw_schema
    named = ((document.get("components") or {}).get("schemas") or {}) if isinstance(document, dict) else {}
    return set(_declared_names(content.get("schema"), named))


def _private_jwks(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        if "kty" in value:
            yield from (f"{path}/{member}" for member in sorted(PRIVATE_JWK_MEMBERS & set(value)))
        for key, sub in value.items():
            yield from _private_jwks(sub, f"{path}/{key}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _private_jwks(sub, f"{path}/{index}")


def _keys(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield key, f"{path}/{key}"
            yield from _keys(sub, f"{path}/{key}")
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _keys(sub, f"{path}/{index}")


@schemathesis.check
def no_secret_echo(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    text = response.content.decode("utf-8", "replace")
    headers = "\n".join(f"{k}: {v}" for k, values in response.headers.items() for v in values)
    for what, secret in _secrets_sent(case, response):
        assert not _occurs(secret, text), f"{what} comes back in the response body"
        assert not _occurs(secret, headers), f"{what} comes back in a response header"
    body = body_of(response)
    if body is not None:
        allowed = declared_keys(case, response.status_code)
        leaked = [where for key, where in _keys(body) if key in SECRET_KEYS and key not in allowed]
        assert not leaked, f"secret-bearing field(s) the response schema does not declare: {', '.join(leaked)}"
        private = list(_private_jwks(body))
        assert not private, f"a JWK carries private key material: {', '.join(private)}"
    return None


# --- long-polls -------------------------------------------------------------------------------


@schemathesis.hook
def before_call(context: Any, case: Case[Any], **kwargs: Any) -> None:
    """A valid ``wait`` of the revocation feed becomes 0, so a generated long-poll does not hold the
    suite for up to 30 s per call (``tests/service/test_revocations.py`` covers the waiting); invalid
    values stay, to be refused."""
    if operation_id(case) != "listRevocations" or not isinstance(case.query, dict):
        return
    wait = case.query.get("wait")
    if isinstance(wait, int | str) and not isinstance(wait, bool) and str(wait).isdigit() and int(wait) <= 30:
        case.query["wait"] = 0


# --- headers ----------------------------------------------------------------------------------


@schemathesis.check
def declared_auth_headers(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    if response.status_code == 401:
        value = header(response, "WWW-Authenticate")
        raw = case.operation.definition.raw
        if isinstance(raw, dict) and raw.get("security"):
            # The challenge names the operation's scheme: Bearer, or Basic for a resource server's.
            schemes = {name for requirement in raw["security"] for name in requirement}
            wanted = "basic" if "resourceServerAuth" in schemes else "bearer"
            assert value is not None, "a 401 without WWW-Authenticate"
            assert value.split(" ")[0].lower() == wanted, f"WWW-Authenticate is {value!r}, not the {wanted} scheme"
        else:
            assert value is None, f"a 401 of an operation without bearer security has WWW-Authenticate: {value!r}"
    if response.status_code == 429:
        value = header(response, "Retry-After")
        assert value is not None, "a 429 without Retry-After"
        assert value.isdigit() and int(value) >= 1, f"Retry-After is {value!r}, not a positive number of seconds"
    return None


# --- sessions ---------------------------------------------------------------------------------

#: At most this many ended tokens are probed per session-ending call (the newest first).
PROBES = 3


@schemathesis.check
def session_end_enforced(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    target = target_of(case)
    if target is None:
        return None
    tracker = target.tracker
    op = operation_id(case)
    status = response.status_code
    body = body_of(response)
    caller = bearer_token(case, response)
    sent = sent_body(case)

    if status < 400:
        if caller is not None and caller in tracker.dead_access:
            raise AssertionError(
                f"{op} accepted (HTTP {status}) an access token whose session ended ({tracker.dead_access[caller]})"
            )
        if op == "refreshToken" and isinstance(sent, dict) and sent.get("refreshToken") in tracker.dead_refresh:
            why = tracker.dead_refresh[str(sent["refreshToken"])]
            raise AssertionError(f"a refresh token of an ended session ({why}) was rotated")
    tracker.learn(op, status, body)
    ended = tracker.observe_end(op, status, caller, body, sent)
    for token in ended.dead[:PROBES]:
        probe = target.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        if probe.status_code != 401:
            # Reported here, once: later calls with these tokens are not failures of their own.
            tracker.forget_end(ended)
            raise AssertionError(
                f"after {ended.why}, an access token of an ended session still gets "
                f"{probe.status_code} from getCurrentUser: {probe.text[:300]}"
            )
    if ended.alive is not None:
        probe = target.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ended.alive}"})
        assert probe.status_code == 200, (
            f"after {ended.why}, the caller's own token gets {probe.status_code} "
            f"from getCurrentUser: {probe.text[:300]}"
        )
    return None
