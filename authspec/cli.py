"""The ``authspec`` command line: serve, mock, bundle, check, migrate and keys.

The apps are started by uvicorn from their factories, named by string
(``handlers.app:create_app``, ``mock.app:create_app``): authspec never imports them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from authspec.settings import Settings
from authspec.spec import ADMIN_SPEC, API_SPEC, SpecError, dump_bundle, load_bundle

SERVICE_FACTORY = "handlers.app:create_app"
MOCK_FACTORY = "mock.app:create_app"


def _run_server(factory: str, host: str, port: int, log_level: str) -> int:
    module = factory.partition(":")[0]
    if importlib.util.find_spec(module.partition(".")[0]) is None or importlib.util.find_spec(module) is None:
        print(f"authspec: {module} is not available in this installation", file=sys.stderr)
        return 2
    import uvicorn

    # lifespan="on": with "auto", a failing startup is swallowed and the server answers 500s.
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _service_settings(command: str) -> Settings | None:
    """The service's settings from the environment, or None after printing why they are invalid."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            print(f"authspec {command}: {error['msg']}", file=sys.stderr)
        return None


def cmd_serve(args: argparse.Namespace) -> int:
    from authspec.storage.admin import serve_preflight

    settings = _service_settings("serve")
    if settings is None:
        return 2
    problem = serve_preflight(settings)
    if problem is not None:
        print(f"authspec serve: {problem}", file=sys.stderr)
        return 2
    return _run_server(SERVICE_FACTORY, args.host, args.port, args.log_level)


def cmd_migrate(args: argparse.Namespace) -> int:
    from authspec.storage.admin import migrate

    settings = _service_settings("migrate")
    return 2 if settings is None else migrate(settings, args.revision)


def cmd_keys(args: argparse.Namespace) -> int:
    from authspec.storage.admin import keys_retire, keys_rotate

    settings = _service_settings(f"keys {args.action}")
    if settings is None:
        return 2
    if args.action == "rotate":
        return keys_rotate(settings, args.file)
    return keys_retire(settings, args.file, args.keep)


def cmd_mock(args: argparse.Namespace) -> int:
    fixtures: Path | None = getattr(args, "fixtures", None)
    if fixtures is not None:
        if not fixtures.is_file():
            print(f"authspec mock: no fixtures file at {fixtures}", file=sys.stderr)
            return 2
        # uvicorn builds the app from its factory by name; the settings carry the file to it.
        os.environ["AUTHSPEC_MOCK_FIXTURES"] = str(fixtures.resolve())
    return _run_server(MOCK_FACTORY, args.host, args.port, args.log_level)


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
        if name == "mock":
            p.add_argument(
                "--fixtures",
                type=Path,
                default=None,
                help="YAML or JSON file of the users every world starts with (default: the shipped set)",
            )

    p = sub.add_parser("bundle", help="write the resolved contract as one deterministic document")
    p.add_argument("--out", type=Path, default=None, help="file to write (stdout when omitted)")
    p.add_argument("--format", choices=["json", "yaml"], default=None, help="default: from --out's suffix, else json")
    p.add_argument("--spec", type=Path, default=API_SPEC, help="root document (default: openapi/openapi.yaml)")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("migrate", help="apply the database migrations (AUTHSPEC_DATABASE_URL)")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("keys", help="manage the access-token signing keys")
    p.add_argument("action", choices=["rotate", "retire"], help="rotate: a new key signs; retire: drop old keys")
    p.add_argument("--file", type=Path, default=None, help="key file (default: the one the service uses)")
    p.add_argument("--keep", type=int, default=1, help="retire: how many of the newest keys to keep (default 1)")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("check", help="validate the contract and its house rules")
    p.add_argument("--spec", type=Path, default=API_SPEC)
    p.add_argument("--admin-spec", type=Path, default=ADMIN_SPEC)
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
