"""``authspec check``: the contract validated, then held to the house rules, as code.

Beyond openapi-spec-validator (on the source) and the bundler (both must accept the document
without warnings), every request and response body must be a ``$ref`` to a named schema and every
success envelope must require a ``data`` typed by a named schema (``check_named_types``); every
operation must have an operationId, a summary and one declared tag; mutating operations carry the
production warning; each operation declares a success (2xx), 401 wherever a bearer token (or a
resource server's HTTP Basic) is required, 400 wherever a body is read, and the statuses
``REQUIRED_RESPONSES`` adds; every
operation resolves to a handler or is marked ``x-planned`` (``authspec.resolver``); every response
has an example that validates against its schema, and envelope examples are internally consistent
(statusCode equals the status, the generic first message, an errorCode of that status); 401s of
bearer or Basic operations declare ``WWW-Authenticate`` (and only those: a 401 refusing a code or a body
token has no challenge) and 429s ``Retry-After``; every link resolves (its operation, parameters,
body fields and runtime expressions); the spec's ErrorCode list equals ``authspec.errors``'; every
``pattern`` reads the same in Python and ECMA-262 (``authspec.patterns``, which also reads the
examples' patterns); and fixed headers sit on success responses, ``no-store`` on every one that
carries a credential (``authspec.fixed_headers``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import yaml

from authspec.errors import all_error_codes, error_for_status, generic_message
from authspec.fixed_headers import fixed_header_problems
from authspec.patterns import check_patterns, with_ecma_patterns
from authspec.resolver import CONTROL_HANDLERS, HANDLERS, handler_problems
from authspec.spec import (
    ADMIN_SPEC,
    API_SPEC,
    Spec,
    SpecError,
    inline_document,
    inline_schema,
    iter_operations,
    load_bundle,
    media_examples,
    schema_name,
)

PRODUCTION_WARNING = "**Production warning:**"

#: The statuses the design names for an operation beyond those every operation derives from its
#: contract (a 2xx; 401 with bearer security; 400 with a request body). The operation list itself
#: lives in the contract: an operation without an entry here needs only the derived statuses.
REQUIRED_RESPONSES: dict[str, set[str]] = {
    "requestEmailCode": {"429"},
    "verifyEmailCode": {"401", "429"},
    "completeRegistration": {"201", "401", "409"},
    "refreshToken": {"401"},
    "revokeRefreshToken": {"403", "404", "409"},
    "revokeSession": {"404", "409"},
    "getReadiness": {"503"},
}

_EXPRESSION = re.compile(r"\$(response|request)\.(body#(/[^}\s]*)?|header\.[\w-]+|path\.\w+|query\.\w+)")


def check_documents(api_spec: Path = API_SPEC, admin_spec: Path = ADMIN_SPEC) -> list[str]:
    """Every problem found in the API document and the mock's control document."""
    problems: list[str] = []
    api = _load(api_spec, problems)
    if api is not None:
        problems += [f"{api_spec.name}: {p}" for p in check_rules(api, design=REQUIRED_RESPONSES)]
        problems += [f"{api_spec.name}: {p}" for p in check_error_catalogue(api_spec)]
        problems += [f"{api_spec.name}: {p}" for p in handler_problems(api, HANDLERS)]
    admin = _load(admin_spec, problems)
    if admin is not None:
        problems += [f"{admin_spec.name}: {p}" for p in check_rules(admin, design=None)]
        problems += [f"{admin_spec.name}: {p}" for p in handler_problems(admin, CONTROL_HANDLERS)]
    return problems


def _load(path: Path, problems: list[str]) -> Spec | None:
    from openapi_spec_validator import OpenAPIV30SpecValidator
    from openapi_spec_validator.readers import read_from_filename

    try:
        raw, base_uri = read_from_filename(str(path))
        from jsonschema_path import SchemaPath

        validator = OpenAPIV30SpecValidator(SchemaPath.from_dict(raw, base_uri=base_uri))
        errors = [f"{path.name}: openapi-spec-validator: {e.message}" for e in validator.iter_errors()]
    except Exception as exc:  # unreadable YAML, unresolvable $ref, ...
        problems.append(f"{path.name}: openapi-spec-validator could not read it: {exc}")
        return None
    if errors:
        problems.extend(errors)
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec = load_bundle(path)
        except SpecError as exc:
            problems.append(f"bundle: {exc}")
            return None
    problems.extend(f"{path.name}: bundling warned: {w.message}" for w in caught)
    return spec


def check_rules(bundled: Spec, design: dict[str, set[str]] | None) -> list[str]:
    """The house rules over one bundled document (``design``: required statuses per operation)."""
    problems = check_named_types(bundled) + check_patterns(bundled)
    spec = inline_document(bundled)  # the rules below read schemas without refs
    problems += fixed_header_problems(spec)
    declared_tags = {t["name"] for t in spec.get("tags", [])}
    by_id: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, method, op in iter_operations(spec):
        where = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        if not op_id:
            problems.append(f"{where}: no operationId")
            continue
        if op_id in by_id:
            problems.append(f"{where}: operationId {op_id} is used twice")
        by_id[op_id] = (path, method, op)
        where = f"{op_id} ({where})"
        if not op.get("summary"):
            problems.append(f"{where}: no summary")
        tags = op.get("tags") or []
        if len(tags) != 1 or tags[0] not in declared_tags:
            problems.append(f"{where}: needs exactly one tag declared at the top level, has {tags}")
        if design is not None and method != "get" and PRODUCTION_WARNING not in op.get("description", ""):
            problems.append(f"{where}: a mutating operation must carry the production warning")
        responses = op.get("responses", {})
        needed = set(design.get(op_id, set())) if design is not None else set()
        if not any(status.startswith("2") for status in responses):
            problems.append(f"{where}: declares no success (2xx) response")
        if _requires_credentials(spec, op):
            needed.add("401")
        if "requestBody" in op:
            needed.add("400")
        for status in sorted(needed - set(responses)):
            problems.append(f"{where}: does not declare a {status} response")
        problems += _check_request_examples(where, op)
        for status, response in responses.items():
            enveloped = not path.startswith("/.well-known/")
            problems += _check_response(
                where, status, response, enveloped=enveloped, bearer=_requires_credentials(spec, op)
            )
    for op_id in sorted(set(design or ()) - set(by_id)):
        problems.append(f"REQUIRED_RESPONSES names {op_id}, which is no operation of the contract")
    for op_id, (_path, _method, op) in by_id.items():
        for status, response in op.get("responses", {}).items():
            for name, link in (response.get("links") or {}).items():
                problems += _check_link(spec, by_id, op, status, f"{op_id} {status} link {name}", link)
    return problems


def check_named_types(spec: Spec) -> list[str]:
    """Every request and response body is a ``$ref`` to a named schema of ``components.schemas``,
    and every success envelope (a 2xx body with ``isSuccess``) requires a ``data`` typed by a named
    schema, in the schema that declares it (else a generated client sees ``data`` as optional)."""
    problems: list[str] = []
    named = (spec.get("components") or {}).get("schemas") or {}
    for path, method, op in iter_operations(spec):
        where = f"{op.get('operationId') or '?'} ({method.upper()} {path})"
        bodies = [("request body", op.get("requestBody") or {}, False)]
        bodies += [
            (f"{status} response", response, status.startswith("2"))
            for status, response in (op.get("responses") or {}).items()
        ]
        for label, holder, success in bodies:
            for mime, media in (holder.get("content") or {}).items():
                schema = media.get("schema")
                name = schema_name(schema)
                if name is None or name not in named:
                    problems.append(
                        f"{where}: the {label} ({mime}) schema must be a $ref to a named schema in components.schemas"
                    )
                    continue
                if success and _is_envelope(named[name], spec):
                    problems += [
                        f"{where}: {label} envelope {name}: {p}" for p in _envelope_data_problems(named[name], spec)
                    ]
    return problems


def _is_envelope(schema: dict[str, Any], spec: Spec) -> bool:
    try:
        return "isSuccess" in _declared_properties(inline_schema(schema, spec))
    except SpecError:
        return False


def _declared_properties(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    names = set(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        names |= _declared_properties(part)
    return names


def _envelope_data_problems(schema: dict[str, Any], spec: Spec) -> list[str]:
    """Each part of the envelope that gives ``data`` a schema other than ``{}`` must name it and require it."""
    typed = []
    for part in _all_of_parts(schema, spec):
        data = (part.get("properties") or {}).get("data")
        if data is None or data == {}:
            continue
        typed.append((part, data))
    if not typed:
        return [
            "data has no type; specialise it with a named schema (allOf: [SuccessEnvelope, {properties: {data: $ref}}])"
        ]
    problems = []
    for part, data in typed:
        if schema_name(data) is None:
            problems.append("data must be a $ref to a named schema")
        if "data" not in (part.get("required") or []):
            problems.append("the schema that types data must list it in required")
    return problems


def _all_of_parts(schema: dict[str, Any], spec: Spec, depth: int = 0) -> list[dict[str, Any]]:
    """``schema`` and the parts of its ``allOf`` (named ones followed), flattened."""
    if depth > 16:
        return []
    name = schema_name(schema)
    if name is not None:
        target = ((spec.get("components") or {}).get("schemas") or {}).get(name)
        return _all_of_parts(target, spec, depth + 1) if isinstance(target, dict) else []
    parts = [schema]
    for part in schema.get("allOf") or []:
        if isinstance(part, dict):
            parts += _all_of_parts(part, spec, depth + 1)
    return parts


def _requires_bearer(spec: Spec, op: dict[str, Any]) -> bool:
    security = op.get("security", spec.get("security")) or []
    return any("bearerAuth" in requirement for requirement in security)


def _requires_credentials(spec: Spec, op: dict[str, Any]) -> bool:
    """The operation needs a credential in a header (a bearer token, or a resource server's HTTP
    Basic): its 401 names the scheme in ``WWW-Authenticate``."""
    security = op.get("security", spec.get("security")) or []
    return any({"bearerAuth", "resourceServerAuth"} & set(requirement) for requirement in security)


def _validator(schema: dict[str, Any]) -> Any:
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    return with_ecma_patterns(OAS30Validator)(schema, format_checker=oas30_format_checker)


def _check_request_examples(where: str, op: dict[str, Any]) -> list[str]:
    problems = []
    for mime, media in (op.get("requestBody", {}).get("content") or {}).items():
        schema = media.get("schema", {})
        for name, value in media_examples(media).items():
            for error in _validator(schema).iter_errors(value):
                problems.append(f"{where}: request example {name} ({mime}) is invalid: {error.message}")
    return problems


def _check_response(
    where: str, status: str, response: dict[str, Any], enveloped: bool, bearer: bool = True
) -> list[str]:
    problems = []
    headers = {h.lower() for h in (response.get("headers") or {})}
    if status == "401" and bearer and "www-authenticate" not in headers:
        problems.append(f"{where}: 401 must declare the WWW-Authenticate header")
    if status == "401" and not bearer and "www-authenticate" in headers:
        problems.append(f"{where}: 401 declares WWW-Authenticate, but the operation has no bearer security")
    if status == "429" and "retry-after" not in headers:
        problems.append(f"{where}: 429 must declare the Retry-After header")
    content = response.get("content") or {}
    if not content:
        problems.append(f"{where}: {status} has no content")
    for mime, media in content.items():
        schema = media.get("schema")
        examples = media_examples(media)
        if schema is None:
            problems.append(f"{where}: {status} {mime} has no schema")
            continue
        if not examples:
            problems.append(f"{where}: {status} {mime} has no example")
        for name, value in examples.items():
            label = f"{where}: {status} example {name}"
            errors = list(_validator(schema).iter_errors(value))
            problems += [f"{label} does not match its schema: {e.message}" for e in errors[:3]]
            if enveloped and isinstance(value, dict) and not errors:
                problems += _check_envelope_example(label, status, value)
    return problems


def _check_envelope_example(label: str, status: str, value: dict[str, Any]) -> list[str]:
    problems = []
    code = value.get("statusCode")
    if status != "default" and str(code) != status:
        problems.append(f"{label}: statusCode {code} differs from the response status {status}")
    if not isinstance(code, int):
        return [*problems, f"{label}: statusCode is not an integer"]
    if value.get("isSuccess") is not (code < 400):
        problems.append(f"{label}: isSuccess must be true exactly when the status is below 400")
    if code >= 400:
        errors = value.get("errors") or [None]
        if errors[0] != generic_message(code):
            problems.append(f"{label}: errors[0] must be the generic message {generic_message(code)!r}")
        if value.get("errorCode") not in error_for_status(code).codes:
            problems.append(f"{label}: errorCode {value.get('errorCode')!r} does not belong to status {code}")
    return problems


def _check_link(
    spec: Spec,
    by_id: dict[str, tuple[str, str, dict[str, Any]]],
    source: dict[str, Any],
    status: str,
    label: str,
    link: dict[str, Any],
) -> list[str]:
    target_id = link.get("operationId")
    if target_id not in by_id:
        return [f"{label}: no operation {target_id!r}"]
    target_path, _method, target = by_id[target_id]
    path_item = spec["paths"][target_path]
    declared = {(p["in"], p["name"]) for p in [*path_item.get("parameters", []), *target.get("parameters", [])]}
    problems = []
    for key, expression in (link.get("parameters") or {}).items():
        location, _, name = key.rpartition(".")
        known = (location, name) in declared if location else any(name == n for _, n in declared)
        if location == "header" and name == "Authorization" and _requires_bearer(spec, target):
            known = True
        if not known:
            problems.append(f"{label}: {target_id} has no parameter {key}")
        problems += _check_expression(label, expression, source, status)
    body = link.get("requestBody")
    if isinstance(body, dict):
        schema = _json_schema(target.get("requestBody", {}))
        properties = schema.get("properties", {}) if schema else {}
        for field, expression in body.items():
            if field not in properties:
                problems.append(f"{label}: {target_id}'s body has no field {field!r}")
            problems += _check_expression(label, expression, source, status)
    elif body is not None:
        problems += _check_expression(label, body, source, status)
    return problems


def _json_schema(holder: dict[str, Any]) -> dict[str, Any] | None:
    media = (holder.get("content") or {}).get("application/json")
    return media.get("schema") if media else None


def _check_expression(label: str, expression: Any, source: dict[str, Any], status: str) -> list[str]:
    if not isinstance(expression, str):
        return []
    problems = []
    for match in _EXPRESSION.finditer(expression):
        side, rest, pointer = match.group(1), match.group(2), match.group(3)
        if not rest.startswith("body#"):
            continue
        holder = source.get("responses", {}).get(status, {}) if side == "response" else source.get("requestBody", {})
        schema = _json_schema(holder)
        parts = [p.replace("~1", "/").replace("~0", "~") for p in (pointer or "/").split("/")[1:] if p]
        if schema is None or not _schema_has(schema, parts):
            problems.append(f"{label}: {match.group(0)} does not resolve in the {side} schema")
    return problems


def _schema_has(schema: dict[str, Any], parts: list[str]) -> bool:
    if not parts:
        return True
    for key in ("allOf", "oneOf", "anyOf"):
        if any(_schema_has(sub, parts) for sub in schema.get(key, [])):
            return True
    head, rest = parts[0], parts[1:]
    if head.isdigit() and "items" in schema:
        return _schema_has(schema["items"], rest)
    prop = schema.get("properties", {}).get(head)
    return prop is not None and _schema_has(prop, rest)


def check_error_catalogue(api_spec: Path) -> list[str]:
    """The ErrorCode enum of the spec must list exactly the codes ``authspec.errors`` can emit."""
    common = api_spec.parent / "components" / "common.yaml"
    try:
        enum = set(yaml.safe_load(common.read_text(encoding="utf-8"))["schemas"]["ErrorCode"]["enum"])
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        return [f"cannot read the ErrorCode enum from {common.name}: {exc}"]
    code = all_error_codes()
    problems = [
        f"errorCode {c!r} is emitted by authspec.errors but missing from ErrorCode" for c in sorted(code - enum)
    ]
    problems += [f"errorCode {c!r} is in ErrorCode but no error class carries it" for c in sorted(enum - code)]
    return problems
