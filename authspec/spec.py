"""Loading the contract: the multi-file OpenAPI document, bundled into one self-contained document.

Every consumer (both apps, ``authspec bundle``, ``authspec check``, the contract tests) takes the
document from here, so they all see the same dict. The bundle keeps the named schemas: every
``$ref`` to a schema (``components/<tag>.yaml#/schemas/X``, or the root's own
``#/components/schemas/X``) becomes ``#/components/schemas/X``, with ``X`` hoisted into the
bundle's ``components.schemas``; every other ``$ref`` (path items, responses, headers, examples,
parameters) is replaced by its target. So the only refs left are internal schema refs, and code
that needs a schema without refs takes it through ``inline_schema``. Connexion's own multi-file
``$ref`` resolution is not used: it looks fragment-local refs up in the root document
(connexion#967); it resolves the bundle's internal refs itself. prance is not used either: its
partial resolution (``RESOLVE_FILES``) breaks fragment-local refs.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


def _spec_dir() -> Path:
    """The contract's folder: ``authspec/openapi`` in an installed wheel, else the checkout's ``openapi/``."""
    here = Path(__file__).resolve().parent
    installed = here / "openapi"
    return installed if (installed / "openapi.yaml").is_file() else here.parent / "openapi"


SPEC_DIR = _spec_dir()
API_SPEC = SPEC_DIR / "openapi.yaml"
ADMIN_SPEC = SPEC_DIR / "mock-admin.yaml"

Spec = dict[str, Any]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError(Exception):
    """The document cannot be loaded or resolved."""


#: The shape of what ``bundle`` produces; caches of bundles (``mock.bundles``) key on it.
BUNDLE_FORMAT = "named-schemas-1"
SCHEMA_REF_PREFIX = "#/components/schemas/"
_SCHEMA_POINTER = re.compile(r"^/(?:components/)?schemas/([^/]+)$")


def load_bundle(path: Path | str = API_SPEC) -> Spec:
    """The bundled, validated document at ``path``, as plain JSON-compatible data (a fresh copy)."""
    resolved = Path(path).resolve()
    return copy.deepcopy(_load_cached(resolved, _tree_mtime(resolved.parent)))


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: float) -> Spec:
    spec = bundle(path)
    from openapi_spec_validator import validate

    try:
        validate(spec)
    except Exception as exc:  # the validator raises several unrelated types
        raise SpecError(f"{path.name}: {exc}") from exc
    return spec


def bundle(path: Path | str) -> Spec:
    """The multi-file document rooted at ``path`` as one document whose only refs are internal schema refs."""
    return _Bundler(Path(path).resolve()).run()


class _Bundler:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Path, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.origins: dict[str, tuple[Path, str]] = {}

    def run(self) -> Spec:
        document = self._file(self.root)
        if not isinstance(document, dict):
            raise SpecError(f"{self.root.name}: the root is not a mapping")
        out: Spec = self._walk(document, self.root, ())
        # Only the named schemas and the security schemes stay: every other component (the root's
        # own parameters, examples, responses) has been inlined where it was used.
        components = {k: v for k, v in (out.get("components") or {}).items() if k == "securitySchemes"}
        out["components"] = components
        # The root's own named schemas are kept even when nothing refers to them.
        for name in (document.get("components") or {}).get("schemas") or {}:
            self._schema(self.root, f"/components/schemas/{name}", name, ())
        if self.schemas:
            components["schemas"] = dict(sorted(self.schemas.items()))
        # A JSON round trip: plain data, no shared sub-objects, YAML-only values refused.
        try:
            result: Spec = json.loads(json.dumps(out, ensure_ascii=False))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{self.root.name}: a value is not JSON data: {exc}") from exc
        return result

    def _file(self, path: Path) -> Any:
        if path not in self.files:
            try:
                self.files[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise SpecError(f"{path.name}: {exc}") from exc
        return self.files[path]

    def _walk(self, node: Any, here: Path, stack: tuple[tuple[Path, str], ...]) -> Any:
        if isinstance(node, list):
            return [self._walk(item, here, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, pointer = self._locate(ref, here)
            match = _SCHEMA_POINTER.match(pointer)
            if match:
                name = _unescape(match.group(1))
                self._schema(target, pointer, name, stack)
                return {"$ref": SCHEMA_REF_PREFIX + name}
            if (target, pointer) in stack:
                raise SpecError(f"{here.name}: $ref {ref} refers to itself")
            return self._walk(self._get(target, pointer, ref), target, (*stack, (target, pointer)))
        return {str(key): self._walk(value, here, stack) for key, value in node.items()}

    def _schema(self, target: Path, pointer: str, name: str, stack: tuple[tuple[Path, str], ...]) -> None:
        origin = self.origins.get(name)
        if origin == (target, pointer):
            return
        if origin is not None:
            raise SpecError(
                f"two schemas are named {name}: {origin[0].name}#{origin[1]} and {target.name}#{pointer}; rename one"
            )
        self.origins[name] = (target, pointer)
        self.schemas[name] = {}  # claimed first, so a schema may refer to itself
        self.schemas[name] = self._walk(self._get(target, pointer, f"{target.name}#{pointer}"), target, stack)

    def _locate(self, ref: str, here: Path) -> tuple[Path, str]:
        file_part, _, pointer = ref.partition("#")
        if file_part.startswith(("http://", "https://")):
            raise SpecError(f"{here.name}: remote $ref {ref} is not supported")
        target = (here.parent / file_part).resolve() if file_part else here
        return target, pointer

    def _get(self, target: Path, pointer: str, ref: str) -> Any:
        node = self._file(target)
        for part in [_unescape(p) for p in pointer.split("/")[1:]] if pointer else []:
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SpecError(f"$ref {ref}: {target.name} has no {pointer}") from None
        return node


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def schema_name(schema: Any) -> str | None:
    """``X`` when ``schema`` is exactly ``{"$ref": "#/components/schemas/X"}``, else None."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref: str = schema["$ref"]
        if ref.startswith(SCHEMA_REF_PREFIX):
            return ref[len(SCHEMA_REF_PREFIX) :]
    return None


def inline_schema(schema: Any, spec: Spec) -> Any:
    """A copy of ``schema`` with every internal schema ref of the bundle ``spec`` replaced by its target.

    For consumers that walk a schema (the mock's generator, the house rules) or validate with a
    validator that is not given the document. A schema that refers to itself cannot be inlined.
    """
    named: dict[str, Any] = (spec.get("components") or {}).get("schemas") or {}

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        name = schema_name(node)
        if name is not None:
            if name in seen:
                raise SpecError(f"schema {name} refers to itself and cannot be inlined")
            if name not in named:
                raise SpecError(f"$ref {node['$ref']} does not resolve")
            return walk(named[name], (*seen, name))
        return {key: walk(value, seen) for key, value in node.items()}

    return walk(schema, ())


def inline_document(spec: Spec) -> Spec:
    """The bundle with every schema ref replaced by its target (the shape of a fully resolved document)."""
    out: Spec = inline_schema({k: v for k, v in spec.items() if k != "components"}, spec)
    if "components" in spec:
        out["components"] = copy.deepcopy(spec["components"])
    return out


def _tree_mtime(folder: Path) -> float:
    return max((p.stat().st_mtime for p in folder.rglob("*.yaml")), default=0.0)


def dump_bundle(spec: Spec, fmt: str = "json") -> str:
    """The bundle as deterministic text: JSON (indented) or YAML without anchors."""
    if fmt == "json":
        return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    raise ValueError(f"unknown bundle format {fmt!r}; use json or yaml")


def iter_operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    """Every ``(path, method, operation)`` of a resolved document, in document order."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return found


def path_pattern(template: str, *, trailing_slash: bool = False) -> re.Pattern[str]:
    """A regex matching the concrete paths of an OpenAPI path template (``/sessions/{id}/revoke``)."""
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
    return re.compile(f"^{pattern}{'/?' if trailing_slash else ''}$")


def media_examples(media: dict[str, Any]) -> dict[str, Any]:
    """The examples of a media type object by name: the named ``examples`` first, then ``example``."""
    found = {name: ex["value"] for name, ex in (media.get("examples") or {}).items() if "value" in ex}
    if "example" in media:
        found["example"] = media["example"]
    return found


def base_path(spec: Spec) -> str:
    """The path part of the first server URL (``/api/v1``), as Connexion uses it."""
    from urllib.parse import urlparse

    servers = spec.get("servers") or [{"url": "/"}]
    url = str(servers[0]["url"])
    for name, variable in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    return urlparse(url).path.rstrip("/")


def path_servers_root(item: dict[str, Any]) -> bool:
    """True when a path item overrides ``servers`` to sit at the site root (``getJwks``)."""
    servers = item.get("servers")
    if not servers:
        return False
    from urllib.parse import urlparse

    return all(urlparse(s["url"].replace("{", "").replace("}", "")).path in ("", "/") for s in servers)
