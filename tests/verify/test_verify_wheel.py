"""``authspec.verify`` as a backend team installs it: the wheel with ``--no-deps`` plus only the packages
of its ``verify`` extra, in a fresh venv, run from an empty directory. It imports none of authspec's
server code (nor Starlette, pydantic, Connexion, SQLAlchemy), checks a token against a static JWKS
file, and a ``Verifier`` verifies one against a JWKS and an empty revocation feed served by the
standard library. Skipped when PyPI cannot be reached (the extra's packages come from there)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers import clean_env
from tests.verify.fake import AUDIENCE, ISSUER, FakeAuthspec

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SCRIPT = r"""
import asyncio, json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import authspec.verify as verify

loaded = [m for m in ("starlette", "pydantic", "connexion", "sqlalchemy", "authspec.services", "authspec.storage",
                      "authspec.settings", "authspec.keys", "yaml") if m in sys.modules]
assert not loaded, f"authspec.verify imported {loaded}"
jwks, token = json.load(open("jwks.json")), open("token.txt").read()
claims = verify.check_token(token, verify.KeySet.from_jwks(jwks), issuer=sys.argv[1], audience=sys.argv[2])

class Authspec(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/api/v1/auth/revocations"):
            body = {"isSuccess": True, "statusCode": 200, "data": {"revocations": [], "cursor": "0",
                    "hasMore": False}, "errors": [], "errorCode": None, "timestamp": "2026-12-08T10:00:00.000Z"}
        else:
            body = jwks
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Authspec)
threading.Thread(target=server.serve_forever, daemon=True).start()

async def main():
    url = f"http://127.0.0.1:{server.server_address[1]}"
    async with verify.Verifier(url, issuer=sys.argv[1], audience=sys.argv[2], client_id="a", client_secret="b",
                               feed_wait=0) as verifier:
        return await verifier.verify(token)

print(json.dumps({"local": claims.sid, "verifier": asyncio.run(main()).sid}))
server.shutdown()
"""


def _verify_requirements(wheel: Path) -> list[str]:
    """The Requires-Dist lines of the wheel's ``verify`` extra, without their marker."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        lines = archive.read(metadata).decode().splitlines()
    return [
        line.removeprefix("Requires-Dist:").split(";")[0].strip()
        for line in lines
        if line.startswith("Requires-Dist:") and 'extra == "verify"' in line
    ]


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("authspec-*.whl")
    requirements = _verify_requirements(wheel)
    assert {re.split(r"[\[<>=!~ ]", r)[0].lower() for r in requirements} == {"pyjwt", "cryptography", "httpx"}
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], check=True)
    extra = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--timeout", "15", "--retries", "1", *requirements],
        capture_output=True,
        text=True,
    )
    if extra.returncode != 0:
        pytest.skip(f"the verify extra's packages could not be installed (is PyPI reachable?): {extra.stderr[-300:]}")
    return env_dir / "bin"


def test_authspec_verify_works_with_only_its_declared_dependencies(venv_bin: Path, tmp_path: Path) -> None:
    fake = FakeAuthspec()
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "jwks.json").write_text(json.dumps({"keys": [key.jwk() for key in fake.keys]}))
    (folder / "token.txt").write_text(fake.token(sid="s-wheel"))
    (folder / "check.py").write_text(SCRIPT)
    result = subprocess.run(
        [str(venv_bin / "python"), "check.py", ISSUER, AUDIENCE],
        cwd=folder,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"local": "s-wheel", "verifier": "s-wheel"}


def test_the_venv_holds_no_server_dependency(venv_bin: Path) -> None:
    listed = subprocess.run([str(venv_bin / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    names = {entry["name"].lower() for entry in json.loads(listed.stdout)}
    assert not names & {"starlette", "connexion", "sqlalchemy", "pydantic", "uvicorn", "asyncpg"}
