"""The known ``AUTHSPEC_*`` names cannot drift: every name the repository mentions is one some part
of authspec reads (a Settings field, or ``authspec.startup.OTHER_NAMES``), and the known set
follows Settings' fields and aliases by itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices, Field

from authspec import settings as settings_module
from authspec import startup
from authspec.settings import Settings, env_names
from authspec.startup import OTHER_NAMES, describe_unknown, known_names, unknown_settings

ROOT = Path(__file__).resolve().parents[2]
#: Where names are written: the code, its tests, the tooling and the documents of the repository.
SCANNED = ("authspec", "handlers", "mock", "contract_tests", "tests", "bench", "clients/typescript/test",
           "clients/typescript/src", "openapi", "deploy", ".ci", "Makefile", "README.md", "ARCHITECTURE.md",
           "pyproject.toml", "package.json")  # fmt: skip
SKIPPED_DIRS = {"node_modules", "__pycache__", "dist", "build", "generated"}
NAME = re.compile(r"AUTHSPEC_[A-Z0-9_]+")

#: Names tests use on purpose to prove an unknown name is refused, each with the setting it is
#: closest to (None: close to nothing). Each must stay unknown.
UNKNOWN_ON_PURPOSE = {
    "AUTHSPEC_DATABSE_URL": "AUTHSPEC_DATABASE_URL",
    "AUTHSPEC_ACESS_TTL": "AUTHSPEC_ACCESS_TTL",
    "AUTHSPEC_ZZZ": None,
    "AUTHSPEC_PORTS": None,  # a field of a Settings subclass in test_settings_checked.py
}


def mentioned_names() -> dict[str, set[str]]:
    """Every ``AUTHSPEC_*`` name written in the scanned files → the files that write it. A name
    ending in ``_`` is a prefix (``AUTHSPEC_CONTRACT_*``), not a variable."""
    found: dict[str, set[str]] = {}
    for root in SCANNED:
        base = ROOT / root
        files = [base] if base.is_file() else [p for p in sorted(base.rglob("*")) if p.is_file()]
        for path in files:
            if SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary files
            for name in NAME.findall(text):
                if not name.endswith("_"):
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_name_the_repository_mentions_is_one_authspec_reads() -> None:
    found = mentioned_names()
    assert "AUTHSPEC_DATABASE_URL" in found and "AUTHSPEC_CONTRACT_URL" in found  # the scan sees the code
    allowed = known_names() | set(UNKNOWN_ON_PURPOSE)
    strays = {name: sorted(files) for name, files in sorted(found.items()) if name not in allowed}
    assert not strays, (
        "names no part of authspec reads (add the setting to Settings, or a name read elsewhere to "
        f"authspec.startup.OTHER_NAMES, or fix the spelling): {strays}"
    )


def test_every_declared_name_outside_settings_is_used_somewhere() -> None:
    found = mentioned_names()
    unused = [name for name in OTHER_NAMES if not set(found.get(name, ())) - {"authspec/startup.py"}]
    assert not unused, f"OTHER_NAMES lists names nothing reads any more: {unused}"


@pytest.mark.parametrize(("name", "closest"), UNKNOWN_ON_PURPOSE.items())
def test_the_names_tests_get_wrong_on_purpose_stay_unknown(name: str, closest: str | None) -> None:
    assert unknown_settings({name: "x"}) == [name]
    hint = f"did you mean {closest}?" if closest else "see Settings in the README"
    assert describe_unknown(name) == f"{name} is not a setting authspec reads ({hint})"


def test_the_known_set_is_every_field_of_settings_plus_the_declared_names() -> None:
    plain = {f"AUTHSPEC_{name.upper()}" for name, info in Settings.model_fields.items() if not info.validation_alias}
    assert plain | set(OTHER_NAMES) <= known_names()
    assert known_names() - set(OTHER_NAMES) == {name for field in Settings.model_fields for name in env_names(field)}
    assert unknown_settings({"AUTHSPEC_ACCESS_TTL": "1", "authspec_access_ttl": "1", "PATH": "/bin"}) == []


def test_an_alias_of_a_field_is_a_known_name_and_what_an_error_names(monkeypatch: pytest.MonkeyPatch) -> None:
    class WithAlias(Settings):
        smtp_tls: str = Field(
            default="none",
            pattern="^(starttls|implicit|none)$",
            validation_alias=AliasChoices("AUTHSPEC_SMTP_TLS", "AUTHSPEC_SMTP_STARTTLS"),
        )

    monkeypatch.setattr(settings_module, "Settings", WithAlias)
    monkeypatch.setattr(startup, "Settings", WithAlias)
    assert env_names("smtp_tls") == ("AUTHSPEC_SMTP_TLS", "AUTHSPEC_SMTP_STARTTLS")
    assert {"AUTHSPEC_SMTP_TLS", "AUTHSPEC_SMTP_STARTTLS"} <= known_names()
    # The line names the variable that was set, even when it is the second alias.
    environ = {"AUTHSPEC_SMTP_STARTTLS": "sometimes"}
    with pytest.raises(settings_module.ValidationError) as raised:
        WithAlias.model_validate({"AUTHSPEC_SMTP_STARTTLS": "sometimes"})
    lines = settings_module.describe_errors(raised.value, environ)
    assert lines == ["AUTHSPEC_SMTP_STARTTLS: String should match pattern '^(starttls|implicit|none)$'"]
