"""What the command line checks about its environment before a command starts, beyond Settings' own rules.

pydantic ignores variables it does not know, so a misspelt ``AUTHSPEC_DATABSE_URL`` would start
the service on the default database. ``read_settings`` therefore compares every ``AUTHSPEC_*``
variable with the names some part of authspec reads: each field of ``Settings`` (``AUTHSPEC_<FIELD>``,
or its aliases; derived, so a new field needs nothing here) plus ``OTHER_NAMES``, the variables read
outside Settings. An unknown one is refused when ``AUTHSPEC_ENV=prod`` and a warning in dev, on one
line naming the closest known name; every invalid value is one line naming its variable.
``exposure_warning`` says when a development server bound beyond loopback hands out login codes.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Mapping

from pydantic import ValidationError
from pydantic_settings import SettingsError

from authspec.settings import ENV_PREFIX, Settings, describe_errors, env_names

#: ``AUTHSPEC_*`` variables read outside ``Settings`` (``tests/core/test_setting_names.py`` greps the
#: repository for names missing here or in Settings). The mock reads only Settings; the bench none.
OTHER_NAMES: tuple[str, ...] = (
    # the contract suite (contract_tests/), set by `authspec contract` for the pytest run it starts
    "AUTHSPEC_CONTRACT_URL",
    "AUTHSPEC_CONTRACT_TARGETS",
    "AUTHSPEC_CONTRACT_SMTP_SINK",
    "AUTHSPEC_CONTRACT_TOKEN",
    "AUTHSPEC_CONTRACT_REFRESH_TOKEN",
    "AUTHSPEC_CONTRACT_INTROSPECTION_CLIENT",
    "AUTHSPEC_CONTRACT_THOROUGH",
    "AUTHSPEC_CONTRACT_MAX_EXAMPLES",
    "AUTHSPEC_CONTRACT_PHASES",
    "AUTHSPEC_CONTRACT_SEED",
    "AUTHSPEC_CONTRACT_STATS",
    # the tests (tests/, .ci/run): the databases to test on, the browser to drive
    "AUTHSPEC_TEST_POSTGRES_URL",
    "AUTHSPEC_TEST_REDIS_URL",
    "AUTHSPEC_CHROMIUM",
    # the TypeScript client's tests (clients/typescript/test/target.mjs)
    "AUTHSPEC_TARGET",
    "AUTHSPEC_URL",
    "AUTHSPEC_CODES_URL",
)


def known_names() -> frozenset[str]:
    """Every ``AUTHSPEC_*`` name some part of authspec reads."""
    return frozenset(name for field in Settings.model_fields for name in env_names(field)) | set(OTHER_NAMES)


def unknown_settings(environ: Mapping[str, str]) -> list[str]:
    """The ``AUTHSPEC_*`` variables of ``environ`` that nothing reads, as written, sorted."""
    known = known_names()
    return sorted(name for name in environ if name.upper().startswith(ENV_PREFIX) and name.upper() not in known)


def describe_unknown(name: str) -> str:
    """One line about the unknown variable ``name``, naming the closest known one when there is one."""
    # Compared without the common prefix, which would make every name look close to every other.
    suffixes = {known.removeprefix(ENV_PREFIX): known for known in known_names()}
    close = difflib.get_close_matches(name.upper().removeprefix(ENV_PREFIX), sorted(suffixes), n=1)
    hint = f"did you mean {suffixes[close[0]]}?" if close else "see Settings in the README"
    return f"{name} is not a setting authspec reads ({hint})"


def describe_settings_error(exc: SettingsError) -> str:
    """One line for a value pydantic-settings could not decode (a JSON-typed field), naming its variable."""
    match = re.search(r'field "([^"]+)"', str(exc))
    field = match.group(1) if match else ""
    name = env_names(field)[0] if field in Settings.model_fields else "an AUTHSPEC_* setting"
    cause = " ".join(str(exc.__cause__).split()) if exc.__cause__ else "cannot be parsed"
    return f"{name} cannot be read: {cause}"


def _prod_in_environment(environ: Mapping[str, str]) -> bool:
    return any(k.upper() == "AUTHSPEC_ENV" and v.strip().lower() == "prod" for k, v in environ.items())


def read_settings() -> tuple[Settings | None, list[str]]:
    """The settings of this process's environment, and the lines to print about it (one per problem).

    Settings is None when the command must not go on: a value is invalid, or ``AUTHSPEC_ENV=prod``
    and some ``AUTHSPEC_*`` variable is unknown. The unknown names are then reported alone, since a
    misspelling is often why the rest fails; in dev they are warnings and the command goes on.
    """
    unknown = [describe_unknown(name) for name in unknown_settings(os.environ)]
    settings: Settings | None = None
    problems: list[str] = []
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = describe_errors(exc)
    except SettingsError as exc:
        problems = [describe_settings_error(exc)]
    prod = settings.env == "prod" if settings is not None else _prod_in_environment(os.environ)
    if unknown and prod:
        return None, [f"{line}; refused when AUTHSPEC_ENV=prod" for line in unknown]
    warnings = [f"warning: {line}; ignored (and refused when AUTHSPEC_ENV=prod)" for line in unknown]
    return settings, [*warnings, *problems]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a ``--host`` value) is reachable from this machine only: ``localhost`` or a
    loopback address. ``0.0.0.0``, ``::``, a LAN address and any other name count as reachable."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(command: str, host: str, settings: Settings) -> str | None:
    """The one warning line a development server bound to ``host`` deserves, or None.

    ``serve`` in dev with the console mailer prints every login code on its console; the mock
    serves every code at ``GET /__mock/outbox`` to whoever can reach it (README, "Settings are
    checked"). Both are fine on loopback, and said once, clearly, anywhere else.
    """
    if is_loopback(host):
        return None
    if command == "serve" and settings.env == "dev" and settings.mail_backend == "console":
        return (
            f"warning: --host {host} is reachable from other machines, and AUTHSPEC_MAIL_BACKEND=console prints "
            "every login code on this console: anyone who can ask for a code and read this output can sign in as "
            "any user; bind 127.0.0.1, or use AUTHSPEC_MAIL_BACKEND=smtp"
        )
    if command == "mock":
        return (
            f"warning: --host {host} is reachable from other machines, and the mock gives every login code to "
            "anyone who asks GET /__mock/outbox: anyone who can reach it can sign in as any user; bind 127.0.0.1 "
            "unless that is what you want"
        )
    return None
