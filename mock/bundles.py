"""The contract for the mock, loaded fast: the bundle cached on disk, keyed by the documents' content.

Bundling and validating the multi-file document takes a noticeable part of the mock's start. The
mock is restarted often on a laptop and its documents rarely change, so the bundle is kept as
JSON under the user's cache directory (``$XDG_CACHE_HOME/authspec``, else ``~/.cache/authspec``),
named by a SHA-256 of the bundle format (``authspec.spec.BUNDLE_FORMAT``) and of every YAML file
of the document's folder. Any edit to ``openapi/`` changes the key and the next start bundles
again through ``authspec.spec.load_bundle`` (and drops the stale entry); a cache that cannot be
read or written is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from authspec.spec import BUNDLE_FORMAT, Spec, load_bundle


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "authspec"


def document_digest(path: Path) -> str:
    """A digest of every YAML file beside (and below) the root document, names and contents."""
    digest = hashlib.sha256()
    folder = path.resolve().parent
    digest.update(BUNDLE_FORMAT.encode() + b"\0" + path.name.encode())
    for file in sorted(folder.rglob("*.yaml")):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def load_bundle_cached(path: Path, directory: Path | None = None) -> Spec:
    """``load_bundle(path)``, from the on-disk cache when the documents have not changed."""
    try:
        cached = (directory or cache_dir()) / f"{path.stem}-{document_digest(path)}.json"
    except OSError:
        return load_bundle(path)
    try:
        spec: Spec = json.loads(cached.read_text(encoding="utf-8"))
        return spec
    except (OSError, ValueError):
        pass
    spec = load_bundle(path)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(spec), encoding="utf-8")
        os.replace(tmp, cached)
        for stale in cached.parent.glob(f"{path.stem}-*.json"):
            if stale != cached:
                stale.unlink(missing_ok=True)  # bundles of earlier versions of the documents
    except OSError:
        pass
    return spec
