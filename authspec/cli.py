"""The ``authspec`` command line: serve, mock, bundle, check, migrate, purge, keys, secrets and contract.

The apps are started by uvicorn from their factories, named by string
(``authspec.handlers.app:create_app``, ``authspec.mock.app:create_app``): authspec never imports them. Likewise
``contract`` runs the contract suite (``authspec.contract_tests``) with pytest in a child process.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, API_SPEC, SpecError, dump_bundle, load_bundle

SERVICE_FACTORY = "authspec.handlers.app:create_app"
MOCK_FACTORY = "authspec.mock.app:create_app"
#: ``(settings, setting) -> problem | None``: the mock's start-up checks, named like its factory.
MOCK_PREFLIGHT = "authspec.mock.app:preflight"


def _run_server(
    factory: str,
    host: str,
    port: int,
    log_level: str,
    command: str,
    workers: int = 1,
    worker_env: dict[str, str] | None = None,
) -> int:
    module = factory.partition(":")[0]
    if importlib.util.find_spec(module.partition(".")[0]) is None or importlib.util.find_spec(module) is None:
        print(f"authspec: {module} is not available in this installation", file=sys.stderr)
        return 2
    problems = _unresolved(command)
    if problems:
        # The factory would raise the same (MissingHandler); said here, it is a line, not a traceback.
        for problem in problems:
            print(f"authspec {command}: {problem}", file=sys.stderr)
        return 2
    import uvicorn

    from authspec.requestlog import uvicorn_log_config

    # uvicorn builds the app from its factory by name, in this process or in each worker: settings
    # reach it through the environment, set only now that nothing can refuse the start any more.
    os.environ.update(worker_env or {})
    # lifespan="on": with "auto", a failing startup is swallowed and the server answers 500s.
    # workers > 1: a supervisor binds the socket and each worker builds the app from the factory's name.
    # loop/http "auto": uvloop and httptools (runtime dependencies) when installed, else asyncio and h11.
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="auto",
        http="auto",
        lifespan="on",
        log_level=log_level,
        # One JSON formatter for every line (authspec.handlers.logs); authspec.requestlog writes the access log.
        log_config=uvicorn_log_config(log_level),
        access_log=False,
        proxy_headers=False,  # authspec.clientip decides, from AUTHSPEC_TRUSTED_PROXIES only
        timeout_graceful_shutdown=10,
    )
    return 0


def _unresolved(command: str) -> list[str]:
    """The operations the app of ``command`` could not serve for want of a handler (by name)."""
    from authspec.resolver import CONTROL_HANDLERS, HANDLERS, missing_handlers

    problems = missing_handlers(load_bundle(API_SPEC), HANDLERS)
    if command == "mock":
        problems += missing_handlers(load_bundle(ADMIN_SPEC), CONTROL_HANDLERS)
    return problems


@contextlib.contextmanager
def _environ(overlay: dict[str, str]) -> Iterator[None]:
    """``overlay`` in ``os.environ`` for the block, and the environment as it was afterwards."""
    saved = {name: os.environ.get(name) for name in overlay}
    os.environ.update(overlay)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _service_settings(command: str) -> Settings | None:
    """The service's settings from the environment, or None after printing why they are invalid.

    Also said here, one line each: an ``AUTHSPEC_*`` variable nothing reads (refused in prod, a
    warning in dev; ``authspec.startup``)."""
    from authspec.startup import read_settings

    settings, lines = read_settings()
    for line in lines:
        print(f"authspec {command}: {line}", file=sys.stderr)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from authspec.storage.admin import migrate_before_serving, migrates_before_serving, serve_preflight

    settings = _service_settings("serve")
    if settings is None:
        return 2
    problem = serve_preflight(settings)
    # Several workers: the checks and the migrations run once, here, before any worker starts.
    migrate_first = problem is None and migrates_before_serving(settings)
    if migrate_first:
        problem = migrate_before_serving(settings)
    if problem is not None:
        print(f"authspec serve: {problem}", file=sys.stderr)
        return 2
    _warn_exposure("serve", args.host, settings)
    # Migrated already, the workers skip it.
    worker_env = {"AUTHSPEC_MIGRATE_ON_START": "false"} if migrate_first else {}
    workers = args.workers or settings.workers  # the flag wins over AUTHSPEC_WORKERS
    if workers == 1 or not settings.metrics:
        return _run_server(
            SERVICE_FACTORY, args.host, args.port, args.log_level, "serve", workers=workers, worker_env=worker_env
        )
    # Several workers: /metrics adds up all of them (prometheus-client's multiprocess mode), from
    # files in a directory of this run's own, made empty here and removed when the server stops.
    import shutil
    import tempfile

    from authspec.metrics import MULTIPROC_ENV

    metrics_dir = tempfile.mkdtemp(prefix="authspec-metrics-")
    try:
        worker_env = {**worker_env, MULTIPROC_ENV: metrics_dir}
        return _run_server(
            SERVICE_FACTORY, args.host, args.port, args.log_level, "serve", workers=workers, worker_env=worker_env
        )
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def _warn_exposure(command: str, host: str, settings: Settings) -> None:
    from authspec.startup import exposure_warning

    warning = exposure_warning(command, host, settings)
    if warning is not None:
        print(f"authspec {command}: {warning}", file=sys.stderr)


def cmd_migrate(args: argparse.Namespace) -> int:
    from authspec.storage.admin import migrate
    from authspec.storage.preflight import storage_problem

    settings = _service_settings("migrate")
    if settings is None:
        return 2
    problem = storage_problem(settings, serving=False)  # reachable, at a revision this code knows
    if problem is not None:
        print(f"authspec migrate: {problem}", file=sys.stderr)
        return 2
    return migrate(settings, args.revision)


def cmd_purge(_args: argparse.Namespace) -> int:
    from authspec.storage.admin import purge_once

    settings = _service_settings("purge")
    return 2 if settings is None else purge_once(settings)


def cmd_keys(args: argparse.Namespace) -> int:
    from authspec.storage.admin import keys_activate, keys_list, keys_retire, keys_rotate

    settings = _service_settings(f"keys {args.action}")
    if settings is None:
        return 2
    if args.action == "rotate":
        return keys_rotate(settings, args.file, args.delay)
    if args.action == "activate":
        return keys_activate(settings, args.file, args.kid)
    if args.action == "list":
        return keys_list(settings, args.file)
    return keys_retire(settings, args.file, args.keep)


def cmd_secrets(args: argparse.Namespace) -> int:
    from authspec.storage.admin import secrets_init

    return secrets_init(args.file)


def cmd_mock(args: argparse.Namespace) -> int:
    # uvicorn builds the app from its factory by name: the flags reach it as settings, through the
    # environment of the server (``worker_env``), never left behind in this process.
    overlay: dict[str, str] = {}
    if getattr(args, "no_cors", False):
        overlay["AUTHSPEC_MOCK_CORS"] = "false"
    fixtures: Path | None = getattr(args, "fixtures", None)
    setting = "AUTHSPEC_MOCK_FIXTURES"
    if fixtures is not None:
        if not fixtures.is_file():
            print(f"authspec mock: --fixtures: no fixtures file at {fixtures}", file=sys.stderr)
            return 2
        overlay["AUTHSPEC_MOCK_FIXTURES"] = str(fixtures.resolve())
        setting = "--fixtures"
    with _environ(overlay):
        settings = _service_settings("mock")
    if settings is None:
        return 2
    module, _, name = MOCK_PREFLIGHT.partition(":")
    if importlib.util.find_spec(module.partition(".")[0]) is not None and importlib.util.find_spec(module) is not None:
        # By name, like the factory: authspec does not import the mock (ARCHITECTURE.md).
        problem = getattr(importlib.import_module(module), name)(settings, setting)
        if problem is not None:
            print(f"authspec mock: {problem}", file=sys.stderr)
            return 2
    _warn_exposure("mock", args.host, settings)
    return _run_server(MOCK_FACTORY, args.host, args.port, args.log_level, "mock", worker_env=overlay)


def cmd_bundle(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    fmt = args.format or ("yaml" if out is not None and out.suffix in (".yaml", ".yml") else "json")
    try:
        text = dump_bundle(load_bundle(args.spec), fmt)
    except SpecError as exc:
        print(f"authspec bundle: {exc}", file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out} ({len(text.encode())} bytes)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from authspec.checks import check_documents

    problems = check_documents(args.spec, args.admin_spec)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    if problems:
        print(f"authspec check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"authspec check: {args.spec.name} and {args.admin_spec.name} follow the contract rules")
    return 0


CONTRACT_SUITE = ("authspec.contract_tests.test_operations", "authspec.contract_tests.test_stateful")
CONTRACT_DIFFERENTIAL = "authspec.contract_tests.test_differential"
#: A thorough run must make at least this many generated calls, or it says so and fails.
THOROUGH_CALLS = 5000


def cmd_contract(args: argparse.Namespace) -> int:
    """Run the contract suite: in-process real app and mock (and the differential run), or ``--url``."""
    if importlib.util.find_spec("authspec.contract_tests") is None:
        print("authspec contract: contract_tests is not available in this installation", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHSPEC_CONTRACT_")}
    for name in ("AUTHSPEC_CONTRACT_TOKEN", "AUTHSPEC_CONTRACT_REFRESH_TOKEN"):
        if name in os.environ:  # tokens only through the environment: not on a command line
            env[name] = os.environ[name]
    modules = list(CONTRACT_SUITE)
    if args.url:
        env["AUTHSPEC_CONTRACT_URL"] = args.url
        env["AUTHSPEC_CONTRACT_TARGETS"] = "live"
        if args.smtp_sink:
            env["AUTHSPEC_CONTRACT_SMTP_SINK"] = args.smtp_sink
    else:
        if args.smtp_sink:
            print(
                "authspec contract: --smtp-sink needs --url (the in-process apps keep mail in memory)", file=sys.stderr
            )
            return 2
        env["AUTHSPEC_CONTRACT_TARGETS"] = args.targets
        if not args.no_differential:
            modules.append(CONTRACT_DIFFERENTIAL)
    if args.thorough:
        env["AUTHSPEC_CONTRACT_THOROUGH"] = "1"
    if args.max_examples is not None:
        env["AUTHSPEC_CONTRACT_MAX_EXAMPLES"] = str(args.max_examples)
    if args.phases:
        env["AUTHSPEC_CONTRACT_PHASES"] = args.phases
    if args.seed is not None:
        env["AUTHSPEC_CONTRACT_SEED"] = str(args.seed)
    junit: Path = args.junit
    junit.parent.mkdir(parents=True, exist_ok=True)
    stats = junit.with_name(junit.stem + "-stats.json")
    stats.unlink(missing_ok=True)
    env["AUTHSPEC_CONTRACT_STATS"] = str(stats.resolve())
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        *modules,
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
        "-W",
        "ignore::DeprecationWarning",  # third-party deprecations (connexion on starlette 1.x)
        "-q",
    ]
    if args.thorough or args.max_examples:
        command += ["-o", "timeout=0"]  # a big run is bounded by its size, not by the per-test limit
    command += args.pytest_args
    code = subprocess.call(command, env=env)  # noqa: S603 - this interpreter running pytest on our suite
    summary = json.loads(stats.read_text()) if stats.exists() else {}
    total = int(summary.get("generatedTotal", 0))
    per_target = ", ".join(f"{k} {v}" for k, v in sorted(summary.get("generated", {}).items()))
    print(f"authspec contract: {total} generated calls ({per_target or 'none'}); junit report: {junit}")
    if code == 0 and args.thorough and total < THOROUGH_CALLS:
        print(
            f"authspec contract: a thorough run must make {THOROUGH_CALLS} calls, this one made {total}",
            file=sys.stderr,
        )
        return 1
    return code


def _worker_count(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 64:
        raise argparse.ArgumentTypeError(f"expected a number of processes from 1 to 64, got {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authspec", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    for name, func, port, what in (
        ("serve", cmd_serve, 8080, "the real service"),
        ("mock", cmd_mock, 4010, "the stateful mock"),
    ):
        p = sub.add_parser(name, help=f"run {what} with uvicorn")
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=port)
        p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
        p.set_defaults(func=func)
        if name == "serve":
            p.add_argument(
                "--workers",
                type=_worker_count,
                default=None,
                help="worker processes (default: AUTHSPEC_WORKERS, else 1)",
            )
        if name == "mock":
            p.add_argument(
                "--fixtures",
                type=Path,
                default=None,
                help="YAML or JSON file of the users every world starts with (default: the shipped set)",
            )
            p.add_argument(
                "--no-cors",
                action="store_true",
                help="answer no cross-origin calls (default: every origin, or AUTHSPEC_CORS_ORIGINS)",
            )

    p = sub.add_parser("bundle", help="write the resolved contract as one deterministic document")
    p.add_argument("--out", type=Path, default=None, help="file to write (stdout when omitted)")
    p.add_argument("--format", choices=["json", "yaml"], default=None, help="default: from --out's suffix, else json")
    p.add_argument("--spec", type=Path, default=API_SPEC, help="root document (default: openapi/openapi.yaml)")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("migrate", help="apply the database migrations (AUTHSPEC_DATABASE_URL)")
    p.add_argument(
        "--revision",
        default="head",
        help="target revision: head (default), base or an id; one below the current revision downgrades",
    )
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("purge", help="delete expired and ended rows once, in batches (the service does it hourly)")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("keys", help="manage the access-token signing keys")
    p.add_argument(
        "action",
        choices=["rotate", "activate", "list", "retire"],
        help="rotate: publish a new key that signs after the delay; activate: the newest (or --kid) key signs now; "
        "list: each key and its state; retire: drop old keys (never the signing or a pending one)",
    )
    p.add_argument("--file", type=Path, default=None, help="key file (default: the one the service uses)")
    p.add_argument("--keep", type=int, default=1, help="retire: how many of the newest keys to keep (default 1)")
    p.add_argument(
        "--delay",
        type=int,
        default=None,
        help="rotate: seconds before the new key signs (default: AUTHSPEC_KEY_PUBLISH_DELAY)",
    )
    p.add_argument("--kid", default=None, help="activate: the key to activate (default: the newest)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("secrets", help="manage the service secret behind code hashes and refresh successors")
    p.add_argument("action", choices=["init"], help="init: create a new secret file (0600), never over one")
    p.add_argument("--file", type=Path, required=True, help="the file to create (then AUTHSPEC_SECRET_FILE)")
    p.set_defaults(func=cmd_secrets)

    p = sub.add_parser("check", help="validate the contract and its house rules")
    p.add_argument("--spec", type=Path, default=API_SPEC)
    p.add_argument("--admin-spec", type=Path, default=ADMIN_SPEC)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "contract",
        help="run the Schemathesis contract suite (in-process real app and mock, or --url)",
        description="Hold a target to the contract with Schemathesis: per-operation property tests and "
        "stateful link sequences. Without --url: the real app and the mock in-process, plus the differential "
        "run. Tokens for a live real service without --smtp-sink: AUTHSPEC_CONTRACT_TOKEN and "
        "AUTHSPEC_CONTRACT_REFRESH_TOKEN. Arguments after -- go to pytest.",
    )
    p.add_argument("--url", default=None, help="a running service or mock, e.g. http://127.0.0.1:8080")
    p.add_argument(
        "--targets",
        default="real,postgres,mock",
        help="in-process targets (default: real,postgres,mock; postgres needs AUTHSPEC_TEST_POSTGRES_URL)",
    )
    p.add_argument("--max-examples", type=int, default=None, help="examples per operation and stateful scenarios")
    p.add_argument("--phases", default=None, help="comma-separated: examples,coverage,fuzzing,stateful (default: all)")
    p.add_argument("--thorough", action="store_true", help=f"a large run (at least {THOROUGH_CALLS} calls)")
    p.add_argument("--seed", type=int, default=None, help="seed of the generated data (CI default: fixed)")
    p.add_argument("--smtp-sink", default=None, metavar="HOST:PORT", help="run an SMTP sink the --url service mails")
    p.add_argument("--no-differential", action="store_true", help="skip the real-vs-mock differential scenarios")
    p.add_argument("--junit", type=Path, default=Path("build/contract-junit.xml"), help="junit report")
    p.add_argument("pytest_args", nargs="*", help="after --: extra pytest arguments")
    p.set_defaults(func=cmd_contract)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
