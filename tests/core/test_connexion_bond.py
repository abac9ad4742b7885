"""The Connexion bond stays written down: pinned version, listed names present, nothing unlisted."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import connexion

from authspec.connexion_bond import BOND, OWN_NAMES, PINNED

ROOT = Path(__file__).resolve().parents[2]
CONNEXION = Path(connexion.__file__).resolve().parent
OURS = ("authspec", "handlers", "mock")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _connexion_private_names() -> set[str]:
    """Every private name Connexion defines: functions, classes, methods, attributes, module globals."""
    found: set[str] = set()
    for path in CONNEXION.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and _private(node.name):
                found.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
                found.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and _private(node.id):
                found.add(node.id)
    return found


def _touched(path: Path, theirs: set[str]) -> set[str]:
    """Private Connexion names ``path`` reads, overrides or imports."""
    touched: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute):
            names = [node.attr]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [node.name]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("connexion"):
            names = [alias.name for alias in node.names]
        else:
            continue
        touched.update(name for name in names if name in theirs)
    return touched


def test_the_installed_connexion_is_the_pinned_one() -> None:
    assert importlib.metadata.version("connexion") == PINNED, "re-read authspec/connexion_bond.py, then re-pin"


def test_every_listed_name_is_still_defined_by_connexion() -> None:
    theirs = _connexion_private_names()
    assert [point.name for point in BOND if point.name not in theirs] == []


def test_every_private_connexion_name_authspec_touches_is_listed() -> None:
    theirs = _connexion_private_names()
    listed = {(used, point.name) for point in BOND for used in point.used_in}
    unlisted = []
    for folder in OURS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for name in sorted(_touched(path, theirs)):
                if (where, name) not in listed and (where, name) not in OWN_NAMES:
                    unlisted.append(f"{where}: {name}")
    assert unlisted == []


def test_every_listed_use_is_real() -> None:
    theirs = _connexion_private_names()
    stale = [
        f"{used}: {point.name}"
        for point in BOND
        for used in point.used_in
        if point.name not in _touched(ROOT / used, theirs)
    ]
    assert stale == []
