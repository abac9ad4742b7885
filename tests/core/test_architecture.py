"""The import rules of ARCHITECTURE.md, enforced on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RULES = {
    "authspec": ("handlers", "mock", "contract_tests", "tests"),
    "handlers": ("mock", "contract_tests", "tests"),
    "mock": (
        "handlers",
        "authspec.storage",
        "sqlalchemy",
        "alembic",
        "asyncpg",
        "aiosqlite",
        "sqlite3",
        "contract_tests",
        "tests",
    ),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", list(RULES))
def test_import_rules(package: str) -> None:
    forbidden = RULES[package]
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


def test_every_module_opens_with_a_docstring() -> None:
    missing = []
    for package in RULES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []
