"""``authspec.verify`` imports only the standard library, PyJWT, cryptography, httpx and itself (and
Starlette inside ``auth_dependency``, only when a FastAPI app asks for it); ``authspec/__init__``
stays import-light, so installing the wheel with only the ``verify`` extra is enough."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"jwt", "cryptography", "httpx", "authspec.verify"}


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("authspec.verify" if node.level else str(node.module))
    return found


def test_the_verifier_imports_nothing_but_its_declared_dependencies() -> None:
    foreign = {
        f"{path.name}: {name}"
        for path in sorted((ROOT / "authspec" / "verify").glob("*.py"))
        for name in _top_level_imports(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)
    }
    assert foreign == set()


def test_importing_it_loads_no_server_module() -> None:
    code = ("import sys, authspec.verify; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'starlette', 'pydantic', 'connexion', 'sqlalchemy', 'yaml'} or m.startswith('authspec.') "
            "and not m.startswith('authspec.verify')))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"
