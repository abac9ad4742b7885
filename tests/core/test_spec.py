"""The contract validates, bundles deterministically, and each of its operations is served.

The operation list lives in the contract alone: these tests derive it (``iter_operations``)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
import yaml

from authspec.checks import REQUIRED_RESPONSES, check_documents, check_rules
from authspec.cli import main
from authspec.resolver import HANDLERS, find_handler, handler_path, is_planned, missing_handlers
from authspec.spec import ADMIN_SPEC, API_SPEC, inline_document, iter_operations, load_bundle
from tests.helpers import validate


def test_the_spec_is_valid_for_openapi_spec_validator() -> None:
    from jsonschema_path import SchemaPath
    from openapi_spec_validator import OpenAPIV30SpecValidator
    from openapi_spec_validator.readers import read_from_filename

    for path in (API_SPEC, ADMIN_SPEC):
        raw, base_uri = read_from_filename(str(path))
        assert raw["openapi"] == "3.0.3"
        errors = list(OpenAPIV30SpecValidator(SchemaPath.from_dict(raw, base_uri=base_uri)).iter_errors())
        assert errors == [], [e.message for e in errors]


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


@pytest.mark.parametrize("document", [API_SPEC, ADMIN_SPEC], ids=["api", "admin"])
def test_bundle_keeps_named_schemas_with_internal_refs_only(document: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = load_bundle(document)
    schemas = spec["components"]["schemas"]
    assert {"SuccessEnvelope", "ErrorEnvelope", "ErrorCode", "Timestamp"} <= set(schemas)
    refs = _refs(spec)
    assert refs, "the bundle inlined every schema"
    assert all(ref.startswith("#/components/schemas/") for ref in refs), sorted(set(refs))
    assert {ref.rpartition("/")[2] for ref in refs} <= set(schemas)
    assert "$ref" not in json.dumps(inline_document(spec)["paths"])


def test_bundle_names_the_schemas_a_frontend_uses() -> None:
    schemas = load_bundle()["components"]["schemas"]
    assert {
        "User",
        "Session",
        "SessionList",
        "TokenPair",
        "VerifyResult",
        "Authenticated",
        "RegistrationRequired",
    } <= set(schemas)
    assert schemas["Session"]["properties"]["createdAt"] == {"$ref": "#/components/schemas/Timestamp"}
    verify = load_bundle()["paths"]["/auth/email/verify"]["post"]
    assert verify["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VerifyCodeBody"
    }
    assert verify["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VerifyEnvelope"
    }


def test_the_house_rules_hold() -> None:
    assert check_documents() == []


def test_every_operation_of_the_contract_has_its_handler() -> None:
    spec = load_bundle()
    assert missing_handlers(spec, HANDLERS) == []
    for _path, _method, op in iter_operations(spec):
        assert not is_planned(op), op["operationId"]  # every shipped operation is implemented
        assert find_handler(handler_path(HANDLERS, op["tags"][0], op["operationId"])) is not None


def test_the_design_statuses_name_operations_of_the_contract_and_are_declared() -> None:
    found = {op["operationId"]: op for _path, _method, op in iter_operations(load_bundle())}
    assert set(REQUIRED_RESPONSES) <= set(found)
    for op_id, statuses in REQUIRED_RESPONSES.items():
        assert statuses <= set(found[op_id]["responses"]), op_id


def test_security_is_either_absent_or_exactly_the_bearer_scheme_or_resource_server_basic() -> None:
    resource_server_ops = {"introspectToken", "listRevocations"}
    for _path, _method, op in iter_operations(load_bundle()):
        expected = [{"resourceServerAuth": []}] if op["operationId"] in resource_server_ops else [{"bearerAuth": []}]
        assert op.get("security", expected) == expected, op["operationId"]


def test_the_feeds_cursor_and_wait_have_no_example_for_swagger_ui_to_prefill() -> None:
    # "Try it out" fills an optional parameter with its example: a made-up cursor skipped entries,
    # a wait of 25 held an empty feed's answer for 25 s.
    params = load_bundle()["paths"]["/auth/revocations"]["get"]["parameters"]
    prefilled = {p["name"]: p.get("example", p.get("examples")) for p in params if p["name"] in ("after", "wait")}
    assert prefilled == {"after": None, "wait": None}


def test_the_bundle_documents_production_and_development_with_variables() -> None:
    spec = load_bundle()
    assert [(s["url"], s["description"].split(" ")[0]) for s in spec["servers"]] == [
        ("https://{domain}/api/v1", "Production"),
        ("http://{host}:{port}/api/v1", "Development"),
    ]
    assert [set(s["variables"]) for s in spec["servers"]] == [{"domain"}, {"host", "port"}]


def test_site_root_path_items_use_a_url_relative_to_the_document() -> None:
    spec = load_bundle()
    root_items = {path: item["servers"] for path, item in spec["paths"].items() if "servers" in item}
    assert sorted(root_items) == ["/.well-known/jwks.json", "/healthz", "/metrics", "/readyz"]
    assert {server["url"] for servers in root_items.values() for server in servers} == {"/"}


def test_bearer_scheme_tells_users_to_omit_the_prefix() -> None:
    scheme = load_bundle()["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "without the `Bearer` prefix" in scheme["description"]


def test_request_schemas_are_strict() -> None:
    for path, method, op in iter_operations(inline_document(load_bundle())):
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            assert schema["additionalProperties"] is False, f"{method} {path}"


def _examples(spec: dict) -> list[tuple[str, dict, object]]:  # type: ignore[type-arg]
    found = []
    for _path, _method, op in iter_operations(spec):
        for status, response in op["responses"].items():
            for media in response.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    found.append((f"{op['operationId']} {status} {name}", media["schema"], example["value"]))
    return found


@pytest.mark.parametrize("document", [API_SPEC, ADMIN_SPEC], ids=["api", "admin"])
def test_every_response_example_validates(document: Path) -> None:
    examples = _examples(inline_document(load_bundle(document)))
    assert len(examples) > 20
    for label, schema, value in examples:
        try:
            validate(schema, value)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None


def test_links_chain_login_to_the_token_consumers() -> None:
    spec = load_bundle()
    verify_links = spec["paths"]["/auth/email/verify"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in verify_links.values()} >= {
        "refreshToken",
        "revokeRefreshToken",
        "logout",
        "listSessions",
        "getCurrentUser",
    }
    assert verify_links["listSessions"]["parameters"]["header.Authorization"].startswith("Bearer {$response.body#")
    register_links = spec["paths"]["/auth/register"]["post"]["responses"]["201"]["links"]
    assert "refreshToken" in {link["operationId"] for link in register_links.values()}
    list_links = spec["paths"]["/auth/sessions"]["get"]["responses"]["200"]["links"]
    assert list_links["revokeSession"]["parameters"]["path.id"] == "$response.body#/data/0/id"


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_bundle_is_deterministic(tmp_path: Path, fmt: str) -> None:
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    assert main(["bundle", "--out", str(first)]) == 0
    assert main(["bundle", "--out", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    text = first.read_text(encoding="utf-8")
    loaded = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert loaded == load_bundle()
    if fmt == "yaml":
        assert "&id" not in text and "*id" not in text  # no YAML anchors from shared sub-objects


def test_bundle_is_accepted_by_the_validator_as_one_file(tmp_path: Path) -> None:
    from openapi_spec_validator import validate as validate_spec

    out = tmp_path / "openapi.json"
    assert main(["bundle", "--out", str(out)]) == 0
    validate_spec(json.loads(out.read_text(encoding="utf-8")))


def test_check_rules_are_not_vacuous() -> None:
    # Sanity: the rules do find problems in a document that breaks them.
    spec = load_bundle()
    del spec["paths"]["/auth/refresh"]["post"]["summary"]
    assert any("refreshToken" in p and "summary" in p for p in check_rules(spec, design=REQUIRED_RESPONSES))


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root / "openapi.yaml"


def _one_get(schema: str) -> str:
    """``paths.yaml`` with one GET whose 200 answers JSON of ``schema`` (YAML after ``schema:``)."""
    return (
        "a:\n  get:\n    responses:\n      '200':\n        description: ok\n        content:\n"
        f"          application/json:\n            schema:{schema}\n"
    )


_ROOT_DOC = """openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a:
    $ref: 'paths.yaml#/a'
"""


def test_bundler_hoists_cross_file_schemas_and_inlines_everything_else(tmp_path: Path) -> None:
    from authspec.spec import bundle

    root = _write(
        tmp_path,
        {
            "openapi.yaml": _ROOT_DOC,
            "paths.yaml": """a:
  get:
    responses:
      '200':
        $ref: 'parts.yaml#/responses/Ok'
""",
            "parts.yaml": """responses:
  Ok:
    description: ok
    content:
      application/json:
        schema: {$ref: '#/schemas/A'}
        examples:
          one: {$ref: '#/examples/One'}
examples:
  One: {value: {b: x}}
schemas:
  A:
    type: object
    properties:
      b: {$ref: '#/schemas/B'}
  B: {type: string}
""",
        },
    )
    spec = bundle(root)
    media = spec["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media == {"schema": {"$ref": "#/components/schemas/A"}, "examples": {"one": {"value": {"b": "x"}}}}
    # The fragment's own `#/schemas/B` is the fragment's B (connexion#967 looked it up in the root).
    assert spec["components"]["schemas"] == {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "string"},
    }


def test_bundler_refuses_two_schemas_of_one_name(tmp_path: Path) -> None:
    from authspec.spec import SpecError, bundle

    root = _write(
        tmp_path,
        {
            "openapi.yaml": _ROOT_DOC,
            "paths.yaml": _one_get(" {allOf: [{$ref: 'one.yaml#/schemas/Name'}, {$ref: 'two.yaml#/schemas/Name'}]}"),
            "one.yaml": "schemas:\n  Name: {type: string}\n",
            "two.yaml": "schemas:\n  Name: {type: string}\n",
        },
    )
    with pytest.raises(
        SpecError, match=re.escape("two schemas are named Name: one.yaml#/schemas/Name and two.yaml#/schemas/Name")
    ):
        bundle(root)


def test_a_schema_may_refer_to_itself_but_cannot_be_inlined(tmp_path: Path) -> None:
    from authspec.spec import SpecError, bundle, inline_schema

    root = _write(
        tmp_path,
        {
            "openapi.yaml": _ROOT_DOC,
            "paths.yaml": _one_get(" {$ref: 'parts.yaml#/schemas/Tree'}"),
            "parts.yaml": "schemas:\n  Tree:\n    type: array\n    items: {$ref: '#/schemas/Tree'}\n",
        },
    )
    spec = bundle(root)
    assert spec["components"]["schemas"]["Tree"]["items"] == {"$ref": "#/components/schemas/Tree"}
    with pytest.raises(SpecError, match="Tree refers to itself"):
        inline_schema({"$ref": "#/components/schemas/Tree"}, spec)


def test_bundler_refuses_a_ref_cycle_outside_schemas(tmp_path: Path) -> None:
    from authspec.spec import SpecError, bundle

    root = _write(tmp_path, {"openapi.yaml": _ROOT_DOC, "paths.yaml": "a:\n  $ref: '#/b'\nb:\n  $ref: '#/a'\n"})
    with pytest.raises(SpecError, match="refers to itself"):
        bundle(root)


def test_load_bundle_validates_the_result(tmp_path: Path) -> None:
    from authspec.spec import SpecError

    root = _write(tmp_path, {"openapi.yaml": _ROOT_DOC, "paths.yaml": "a:\n  get:\n    responses: 12\n"})
    with pytest.raises(SpecError, match=re.escape("openapi.yaml: ")):
        load_bundle(root)
