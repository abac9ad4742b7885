"""The README's "Protecting your own APIs" snippet runs as written: its imports are complete and
``Verifier`` and ``VerifyMiddleware`` take the arguments it names. FastAPI is not a dependency of
the project, so Starlette (which ``FastAPI`` subclasses, ``add_middleware`` included) stands in for
it; the request carries no token, so nothing reaches the snippet's authspec URL.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from authspec.verify import Verifier, VerifyMiddleware

ROOT = Path(__file__).resolve().parents[2]


def _snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Protecting your own APIs\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "no python block in 'Protecting your own APIs'"
    return found.group(1)


def test_the_readme_snippet_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    fastapi = types.ModuleType("fastapi")
    fastapi.FastAPI = Starlette  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fastapi", fastapi)
    monkeypatch.setenv("ORDERS_API_CLIENT_SECRET", "s3cret")
    namespace: dict[str, object] = {"__name__": "readme_snippet"}
    exec(compile(_snippet(), "README.md", "exec"), namespace)
    app, verifier = namespace["app"], namespace["verifier"]
    assert isinstance(app, Starlette) and isinstance(verifier, Verifier)
    assert [m.cls for m in app.user_middleware] == [VerifyMiddleware]
    answer = TestClient(app).get("/orders")
    assert (answer.status_code, answer.json()["errorCode"]) == (401, "authentication_required")
    assert answer.headers["www-authenticate"] == "Bearer"
