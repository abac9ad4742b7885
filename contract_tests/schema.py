"""The contract as Schemathesis sees it for one target.

The document is read from the target itself (``/api/v1/openapi.json``), so a live URL is held to
the contract it serves. Its ``servers`` name production first, and the JWK Set sits at the site
root with servers of its own, so both are pointed at the target before loading: the API at
``<origin>/api/v1`` and the JWK Set at ``<origin>/`` (in-process: Schemathesis' ASGI host). Nothing
the suite sends can reach the production server.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from .profile import PHASES, Profile

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiSchema

    from .targets import Target

API = "/api/v1"


def retarget(document: dict[str, Any], origin: str) -> dict[str, Any]:
    """A copy of ``document`` whose servers (top-level and per path) all point at ``origin``."""
    document = copy.deepcopy(document)
    document["servers"] = [{"url": f"{origin}{API}", "description": "the target under test"}]
    for item in document["paths"].values():
        if "servers" in item:
            item["servers"] = [{"url": f"{origin}/", "description": "the target under test, site root"}]
        for operation in item.values():
            if isinstance(operation, dict) and "servers" in operation:
                operation["servers"] = [{"url": f"{origin}/"}]
    return document


def declare_request_headers(document: dict[str, Any]) -> dict[str, Any]:
    """For the stateful run: declare ``Authorization`` on the sources of links that read
    ``$request.header.Authorization``.

    Schemathesis 4.32 accepts ``$request.header.X`` only when the source operation declares the
    header as a parameter; a bearer token travels through ``security`` instead, so the link
    listSessions → revokeSession (revoke a listed session with the token that listed it) would
    be dropped. The suite's auth provider fills the declared header like the security scheme.
    """
    document = copy.deepcopy(document)
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            reads = any(
                "$request.header.Authorization" in str(link.get("parameters", {}))
                for response in operation.get("responses", {}).values()
                for link in (response.get("links") or {}).values()
            )
            if reads:
                declared = operation.setdefault("parameters", [])
                if not any(p.get("in") == "header" and p.get("name", "").lower() == "authorization" for p in declared):
                    declared.append(
                        {"name": "Authorization", "in": "header", "required": False, "schema": {"type": "string"}}
                    )
    return document


def config_for(target: Target, profile: Profile) -> SchemathesisConfig:
    data: dict[str, Any] = {
        "generation": {"max-examples": profile.max_examples, "database": "none"},
        "phases": {
            **{phase: {"enabled": phase in profile.phases} for phase in PHASES},
            "stateful": {"enabled": profile.stateful, "max-steps": profile.stateful_steps},
        },
        # Every built-in check stays on; ours are registered by contract_tests.checks.
        "checks": {"enabled": True},
    }
    if profile.seed is not None:
        data["seed"] = profile.seed
    if target.headers:
        data["headers"] = dict(target.headers)
    return SchemathesisConfig.from_dict(data)


def load_schema(target: Target, profile: Profile, *, stateful: bool = False) -> OpenApiSchema:
    from . import checks  # noqa: F401 - registers our checks with Schemathesis

    served = target.http.get(f"{API}/openapi.json")
    served.raise_for_status()
    document = retarget(served.json(), target.origin)
    if stateful:
        document = declare_request_headers(document)
    schema = schemathesis.openapi.from_dict(document, config=config_for(target, profile))
    # Operations without servers of their own are sent to the location's origin + the base path.
    schema.location = f"{target.origin}{API}/openapi.json"
    if target.app is not None:
        schema.app = target.app
    schema.auth.providers.append(target.auth.installed)
    schema.auth.providers.append(target.auth.resource_server)
    return schema
