"""Settings: every knob of authspec, read from ``AUTHSPEC_*`` environment variables.

Names are part of the contract with deployment tooling (ARCHITECTURE.md, design facts); durations
are seconds. Nothing reads the environment at import time: ``Settings()`` is built by the CLI or
by ``create_app`` when none is given, and tests pass their own. Outside ``dev`` the settings
refuse what is only safe on a laptop (generated signing keys).
"""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, SecretStr, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from authspec.clientip import Network, parse_trusted_proxies
from authspec.cors import ANY_ORIGIN, normalise_origin
from authspec.keys import JWKS_MAX_AGE, KEY_RELOAD_SECONDS
from authspec.servers import normalise_base_url

ENV_PREFIX = "AUTHSPEC_"
#: The schemes redis-py connects with (``AUTHSPEC_REDIS_URL``).
REDIS_SCHEMES = ("redis", "rediss", "unix")


def env_names(field: str) -> tuple[str, ...]:
    """The environment variables that set ``field`` of Settings: ``AUTHSPEC_<FIELD>``, or its
    ``validation_alias`` names (an ``AliasChoices`` gives several), upper-cased."""
    info = Settings.model_fields[field]
    alias = info.validation_alias or info.alias
    if alias is None:
        return (f"{ENV_PREFIX}{field.upper()}",)
    choices: list[Any] = getattr(alias, "choices", [alias])  # AliasChoices, else one str or AliasPath
    return tuple(str(getattr(choice, "path", [choice])[0]).upper() for choice in choices)


def describe_errors(exc: ValidationError, environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per problem of ``exc``, each naming the setting (``AUTHSPEC_ACCESS_TTL: ...``).

    A field with aliases is named by the alias set in ``environ`` (default: the process's), so
    the line names the variable the operator wrote. Values are never echoed (secrets)."""
    present = {name.upper() for name in (os.environ if environ is None else environ)}
    fields = {key.upper(): field for field in Settings.model_fields for key in (field, *env_names(field))}
    lines = []
    for error in exc.errors():
        message = " ".join(str(error["msg"]).removeprefix("Value error, ").split())
        key = str(error["loc"][0]).upper() if error["loc"] else ""
        if key in fields:
            names = env_names(fields[key])
            key = next((name for name in names if name in present), names[0])
        elif key and not key.startswith(ENV_PREFIX):
            key = f"{ENV_PREFIX}{key}"
        if key and not message.startswith(key):
            message = f"{key}: {message}"
        lines.append(message)
    return lines


class Settings(BaseSettings):
    """All of authspec's configuration; see the README for what each setting does."""

    model_config = SettingsConfigDict(env_prefix="AUTHSPEC_", extra="ignore", frozen=True)

    env: Literal["dev", "prod"] = "dev"
    database_url: str = "sqlite:///authspec.db"
    redis_url: str | None = None

    mail_backend: Literal["console", "smtp", "memory"] = "console"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # SMTP transport security (issue 12): starttls (upgrade after connecting, port 587/25), implicit
    # (TLS from the first byte, port 465, the default port then) or none; certificates are verified
    # against the system's CAs plus smtp_ca_file. smtp_starttls is the old boolean, kept as an alias
    # (true → starttls, false → none). In prod, SMTP login without TLS is refused.
    smtp_tls: Literal["starttls", "implicit", "none"] = "none"
    smtp_starttls: bool | None = None
    smtp_ca_file: Path | None = None
    mail_from: str = "authspec <no-reply@localhost>"

    jwt_issuer: str = "authspec"
    jwt_audience: str = "authspec-api"
    jwt_private_key_file: Path | None = None

    access_ttl: int = Field(default=3600, ge=1)
    refresh_ttl: int = Field(default=2_592_000, ge=1)
    refresh_grace: int = Field(default=10, ge=0)
    registration_ttl: int = Field(default=900, ge=1)
    code_ttl: int = Field(default=300, ge=1, le=600)
    code_resend_after: int = Field(default=60, ge=0)
    code_max_attempts: int = Field(default=5, ge=1)
    # Per client IP, fixed windows (Supabase's hosted defaults): code requests and verify attempts.
    code_ip_limit: int = Field(default=30, ge=1)
    code_ip_window: int = Field(default=300, ge=1)
    verify_ip_limit: int = Field(default=30, ge=1)
    verify_ip_window: int = Field(default=300, ge=1)
    # lastActiveAt is written at most this often per session by authenticated requests.
    session_touch_interval: int = Field(default=60, ge=0)

    # The real service's storage: a PostgreSQL schema (search_path) and migrations on start.
    database_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    migrate_on_start: bool = True

    # Several processes and instances (issue 12): uvicorn workers of `authspec serve` (--workers wins),
    # the PostgreSQL pool per process, and the bounds on every wait for the database or Redis, in
    # seconds: getting a working connection (connecting, a pooled one's pre-ping, a free one from the
    # pool); a statement (PostgreSQL statement_timeout and the client's wait for an answer); a Redis
    # connect or command. Past them: 503 service_unavailable.
    workers: int = Field(default=1, ge=1, le=64)
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    database_connect_timeout: float = Field(default=5.0, gt=0, le=300)
    database_statement_timeout: float = Field(default=5.0, gt=0, le=3600)
    redis_timeout: float = Field(default=5.0, gt=0, le=300)

    # Origins whose pages may call the app (the real service answers none until they are listed;
    # "*" allows any, in dev only). The mock answers every origin unless this narrows it, and
    # answers none with mock_cors=false.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mock_cors: bool = True
    # Where the service is reached in production, and where the team's mock runs: the served
    # document lists them as its Production and Development servers (never a placeholder host).
    public_url: str | None = None
    mock_url: str | None = None
    max_body_bytes: int = Field(default=65_536, ge=1)
    validate_responses: bool = True

    # Client IP behind reverse proxies (authspec.clientip): the peers whose X-Forwarded-For /
    # Forwarded are honoured, comma-separated IPs and CIDRs; none by default (the peer is the client).
    trusted_proxies: Annotated[tuple[Network, ...], NoDecode] = ()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str | list | tuple):
            return parse_trusted_proxies(value)
        return value

    # The mock (`authspec mock`): its users (YAML or JSON; the shipped set when unset), and an
    # optional fixed 6-digit code accepted besides the emailed one, for demos (off by default).
    mock_fixtures: Path | None = None
    mock_dev_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    # Housekeeping (issue 12): the purge of expired rows runs within purge_delay seconds of start
    # (at a random moment in its second half), then every purge_interval seconds (±10%), deleting
    # at most purge_batch_size rows per transaction; `authspec purge` runs it once.
    purge_delay: float = Field(default=60.0, ge=0)
    purge_interval: float = Field(default=3600.0, gt=0)
    purge_batch_size: int = Field(default=1000, ge=1, le=10_000)

    @model_validator(mode="before")
    @classmethod
    def _smtp_tls_mode(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # AUTHSPEC_SMTP_STARTTLS (a boolean) names a mode of AUTHSPEC_SMTP_TLS; both may be set if they agree.
        if data.get("smtp_starttls") not in (None, ""):
            try:
                implied = "starttls" if TypeAdapter(bool).validate_python(data["smtp_starttls"]) else "none"
            except ValidationError:
                return data  # the field's own validation names AUTHSPEC_SMTP_STARTTLS
            given = data.get("smtp_tls")
            if given in (None, ""):
                data = {**data, "smtp_tls": implied}
            elif str(given) != implied:
                raise ValueError(
                    f"AUTHSPEC_SMTP_TLS={given} and AUTHSPEC_SMTP_STARTTLS={data['smtp_starttls']} disagree "
                    f"(the old boolean means AUTHSPEC_SMTP_TLS={implied}); set only AUTHSPEC_SMTP_TLS"
                )
        # Implicit TLS listens on 465 (RFC 8314); an explicit AUTHSPEC_SMTP_PORT still wins.
        if data.get("smtp_tls") == "implicit" and data.get("smtp_port") in (None, ""):
            data = {**data, "smtp_port": 465}
        return data

    @field_validator("smtp_ca_file", mode="after")
    @classmethod
    def _usable_ca_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        try:
            ssl.create_default_context().load_verify_locations(cafile=str(value))
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            problem = f"AUTHSPEC_SMTP_CA_FILE: {value} is not a readable PEM file of CA certificates ({reason})"
            raise ValueError(problem) from None
        return value

    @model_validator(mode="after")
    def _refuse_plaintext_smtp_login_in_prod(self) -> Settings:
        if self.env == "prod" and self.smtp_username and self.smtp_tls == "none":
            raise ValueError(
                "AUTHSPEC_SMTP_TLS=none with AUTHSPEC_SMTP_USERNAME is refused when AUTHSPEC_ENV=prod (the password "
                "would cross the network in clear); set AUTHSPEC_SMTP_TLS=starttls or implicit"
            )
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated list in the environment: AUTHSPEC_CORS_ORIGINS=http://a,http://b
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins", mode="after")
    @classmethod
    def _normalise_origins(cls, value: list[str]) -> list[str]:
        # As a browser sends them: "http://localhost:5173/" is "http://localhost:5173".
        return list(dict.fromkeys(normalise_origin(origin) for origin in value))

    @field_validator("public_url", "mock_url", mode="after")
    @classmethod
    def _normalise_base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else normalise_base_url(value, f"AUTHSPEC_{str(info.field_name).upper()}")

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_prod(self) -> Settings:
        if self.env == "prod" and self.jwt_private_key_file is None:
            raise ValueError(
                "AUTHSPEC_JWT_PRIVATE_KEY_FILE must name the signing key when AUTHSPEC_ENV=prod; "
                "generated development keys are refused in production"
            )
        if self.env == "prod" and ANY_ORIGIN in self.cors_origins:
            raise ValueError(
                "AUTHSPEC_CORS_ORIGINS: '*' is refused when AUTHSPEC_ENV=prod (cross-origin calls carry "
                "credentials); list the frontends' origins"
            )
        if self.env == "prod" and self.mail_backend != "smtp":
            raise ValueError("AUTHSPEC_MAIL_BACKEND must be smtp when AUTHSPEC_ENV=prod")
        return self

    # Key rollover and the service secret (README "Signing keys and the service secret"): how often
    # a running service re-reads the key file; how long `authspec keys rotate` publishes a key
    # before it signs (default: the reload interval plus the JWK Set's cache lifetime, so every
    # instance and every verifier's cached JWKS knows the key first); the file of the secret behind
    # code hashes and refresh successors (dev default: beside the database; required in prod).
    key_reload_interval: float = Field(default=KEY_RELOAD_SECONDS, gt=0, le=3600)
    key_publish_delay: int | None = Field(default=None, ge=0)
    secret_file: Path | None = None

    @property
    def safe_publish_delay(self) -> int:
        """The shortest delay after which every instance and every cached JWK Set knows a new key."""
        return math.ceil(self.key_reload_interval) + JWKS_MAX_AGE

    @property
    def publish_delay(self) -> int:
        """Seconds between a rotation and the new key's first signature."""
        return self.safe_publish_delay if self.key_publish_delay is None else self.key_publish_delay

    @model_validator(mode="after")
    def _require_secret_file_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_file is None:
            raise ValueError(
                "AUTHSPEC_SECRET_FILE must name the service secret file when AUTHSPEC_ENV=prod; create it once "
                "with `authspec secrets init --file PATH` and give every instance the same file"
            )
        return self

    # -- Settings that fail loudly (issue 12): values checked when read, each error naming its variable.
    @field_validator("redis_url", mode="after")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # AUTHSPEC_REDIS_URL= (empty) is unset: limits stay in the database
        scheme = value.partition("://")[0].lower() if "://" in value else ""
        if scheme not in REDIS_SCHEMES:
            given = f"scheme {scheme!r}" if scheme else "no scheme"
            raise ValueError(
                f"AUTHSPEC_REDIS_URL is not a Redis URL ({given}); use redis://host:port/db, rediss://... or unix:///path"
            )
        from redis.asyncio.connection import parse_url

        try:
            parse_url(value)
        except ValueError as exc:  # redis-py's messages name the part, never the password
            raise ValueError(f"AUTHSPEC_REDIS_URL is not a usable Redis URL: {exc}") from None
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_empty_paths(cls, value: Any, info: ValidationInfo) -> Any:
        # Path("") is the working directory: an empty AUTHSPEC_*_FILE is a template left unfilled.
        annotation = cls.model_fields[str(info.field_name)].annotation
        if value == "" and (annotation is Path or Path in get_args(annotation)):
            raise ValueError(f"{env_names(str(info.field_name))[0]} is empty; name a file, or unset it")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _check_paths_and_secrets(cls, value: Any, info: ValidationInfo) -> Any:
        name = env_names(str(info.field_name))[0]
        if isinstance(value, Path) and value.is_dir():
            raise ValueError(f"{name} names a directory ({value}); name a file")
        if isinstance(value, SecretStr) and any(ord(c) < 32 or ord(c) == 127 for c in value.get_secret_value()):
            raise ValueError(
                f"{name} contains a control character (a carriage return from an env file with Windows line "
                "endings?); the value is not shown"
            )
        return value

    @model_validator(mode="after")
    def _require_explicit_database_in_prod(self) -> Settings:
        if self.env == "prod" and "database_url" not in self.model_fields_set:
            raise ValueError(
                "AUTHSPEC_DATABASE_URL must be set when AUTHSPEC_ENV=prod; the default, a SQLite file "
                "relative to the working directory (sqlite:///authspec.db), is for development"
            )
        return self

    # -- end of the checks of issue 12's "settings that fail loudly".

    # Metrics (issue 13): GET /metrics serves Prometheus text (authspec.metrics) unless this is
    # false, then it answers 404 like an unknown path. Under `authspec serve --workers N` the
    # workers' counts are added up (prometheus-client's multiprocess mode).
    metrics: bool = True

    # Limits that hold and the idle timeout (issue 13, README "Limits and the idle timeout"): a
    # session unused for session_idle_ttl seconds ends (0: no idle timeout; default 14 days, a
    # refresh-token API's "remember me"); idle time is measured from lastActiveAt, so it must be
    # longer than session_touch_interval. code_mailbox_hourly caps the codes sent per mailbox
    # (the address without +tag, lower case) per hour (0: no cap).
    session_idle_ttl: int = Field(default=1_209_600, ge=0)
    code_mailbox_hourly: int = Field(default=5, ge=0)
    # Per-account lockout (Keycloak's brute-force detection): the code_lockout_after-th code of an
    # email voided within code_lockout_window seconds locks the email for code_lockout_seconds,
    # doubling with each further voided code, at most code_lockout_max; the count lives on until a
    # quiet window follows the lock. 0 turns it off.
    code_lockout_after: int = Field(default=3, ge=0)
    code_lockout_window: int = Field(default=3600, ge=1)
    code_lockout_seconds: int = Field(default=900, ge=1)
    code_lockout_max: int = Field(default=86_400, ge=1)

    # Resource servers (issue 15, README "Introspection and the revocation feed"): the clients that
    # may introspect tokens and read the revocation feed with HTTP Basic, as client_id:sha256-hex
    # pairs, comma-separated here and one a line in the file; both may be set (their union).
    introspection_clients: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    introspection_clients_file: Path | None = None

    @field_validator("introspection_clients", mode="before")
    @classmethod
    def _parse_introspection_clients(cls, value: object) -> object:
        if isinstance(value, str):
            from authspec.resource_clients import parse_clients_text

            return parse_clients_text(value)
        return value

    @field_validator("introspection_clients_file", mode="after")
    @classmethod
    def _readable_clients_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            from authspec.resource_clients import read_clients_file

            read_clients_file(value)  # a malformed file stops the start, naming the setting
        return value

    def resource_client_hashes(self) -> dict[str, str]:
        """``{client_id: sha256 hex}`` of both introspection settings (the file is read now)."""
        from authspec.resource_clients import read_clients_file

        from_file = read_clients_file(self.introspection_clients_file) if self.introspection_clients_file else {}
        return {**from_file, **self.introspection_clients}

    @model_validator(mode="after")
    def _idle_longer_than_touch(self) -> Settings:
        if 0 < self.session_idle_ttl <= self.session_touch_interval:
            raise ValueError(
                f"AUTHSPEC_SESSION_IDLE_TTL={self.session_idle_ttl} must be 0 (off) or longer than "
                f"AUTHSPEC_SESSION_TOUCH_INTERVAL={self.session_touch_interval} (lastActiveAt is written that often)"
            )
        return self
