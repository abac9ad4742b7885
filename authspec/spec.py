"""Loading the contract: the multi-file OpenAPI document, resolved by prance into one bundle.

Every consumer (both apps, ``authspec bundle``, ``authspec check``, the contract tests) takes the
document from here, so they all see the same resolved dict. Connexion's own multi-file ``$ref``
resolution is not used: it looks fragment-local refs up in the root document (connexion#967).
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


def load_bundle(path: Path | str = API_SPEC) -> Spec:
    """The fully resolved document at ``path``, as plain JSON-compatible data (a fresh copy)."""
    resolved = Path(path).resolve()
    return copy.deepcopy(_load_cached(resolved, _tree_mtime(resolved.parent)))


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: float) -> Spec:
    # prance is imported here: it is slow to import and only needed when a spec is loaded.
    import prance

    try:
        parser = prance.ResolvingParser(str(path), backend="openapi-spec-validator", strict=True)
    except Exception as exc:  # prance raises several unrelated types
        raise SpecError(f"{path.name}: {exc}") from exc
    # A JSON round trip drops the structural sharing prance keeps (YAML anchors otherwise).
    spec: Spec = json.loads(json.dumps(parser.specification))
    return spec


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
