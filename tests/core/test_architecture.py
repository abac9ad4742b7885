"""The import rules of ARCHITECTURE.md, enforced on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Each top-level folder installs as this package (pyproject's package-dir).
INSTALLED_AS = {
    "authspec": "authspec",
    "handlers": "authspec.handlers",
    "mock": "authspec.mock",
    "contract_tests": "authspec.contract_tests",
}

RULES = {
    "authspec": ("authspec.handlers", "authspec.mock", "authspec.contract_tests", "tests"),
    "handlers": ("authspec.mock", "authspec.contract_tests", "tests"),
    "mock": (
        "authspec.handlers",
        "authspec.storage",
        "sqlalchemy",
        "alembic",
        "asyncpg",
        "aiosqlite",
        "sqlite3",
        "authspec.contract_tests",
        "tests",
    ),
}

#: Names that exist only in a checkout: an import of one works there and fails once installed.
CHECKOUT_ONLY = ("handlers", "mock", "contract_tests")


def _imports(path: Path, folder: str) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against its installed package name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = path.relative_to(ROOT / folder).with_suffix("").parts
    package = [*INSTALLED_AS.get(folder, folder).split("."), *parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(node.module)
            elif node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("package", list(RULES))
def test_import_rules(package: str) -> None:
    forbidden = RULES[package]
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path, package):
            if _within(name, forbidden):
                violations.append(f"{path.relative_to(ROOT)} imports {name}")
    assert violations == []


#: pytest collects the contract suite of a checkout as ``contract_tests`` (the folder's own name, as
#: its __init__ says), so the tests import it by that name too: one copy of its modules per process.
ALLOWED_FROM = {"tests": ("contract_tests",)}


@pytest.mark.parametrize("package", [*INSTALLED_AS, "tests", "bench"])
def test_no_import_names_a_checkout_only_package(package: str) -> None:
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path, package)
        if _within(name, CHECKOUT_ONLY) and not _within(name, ALLOWED_FROM.get(package, ()))
    ]
    assert violations == []


def test_every_module_opens_with_a_docstring() -> None:
    missing = []
    for package in RULES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def _only_re_exports(tree: ast.Module) -> bool:
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    names_only = (ast.Import, ast.ImportFrom)
    return bool(body) and all(
        isinstance(n, names_only)
        or (isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == ["__all__"])
        for n in body
    )


@pytest.mark.parametrize("package", ["handlers", "mock"])
def test_no_module_only_re_exports(package: str) -> None:
    # Each operation's handler has one home (handlers/<tag>.py); the mock resolves it by name.
    re_exporting = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if _only_re_exports(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert re_exporting == []
