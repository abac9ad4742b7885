"""How many worker processes ``authspec serve`` asks uvicorn for: ``--workers`` wins over
``AUTHSPEC_WORKERS``, which wins over the default of one; a bad count is refused. The
parent migrates before any worker starts and turns the workers' migration off. uvicorn itself is
replaced by a recorder here (``tests/resilience/test_workers.py`` runs real workers)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from authspec import cli
from authspec.storage.engine import Database
from authspec.storage.migrate import current_revision, head_revision
from tests.helpers import authspec_cli, clean_env, free_port


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """What ``_run_server`` was asked for; the settings point at a fresh SQLite file."""
    calls: dict[str, Any] = {}

    def record(
        factory: str,
        host: str,
        port: int,
        log_level: str,
        command: str,
        workers: int = 1,
        worker_env: dict[str, str] | None = None,
    ) -> int:
        calls.update(factory=factory, command=command, workers=workers, worker_env=worker_env or {})
        metrics_dir = (worker_env or {}).get("PROMETHEUS_MULTIPROC_DIR")
        calls["metrics_dir_listing"] = None if metrics_dir is None else os.listdir(metrics_dir)
        return 0

    for name in [n for n in os.environ if n.startswith("AUTHSPEC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", f"sqlite:///{tmp_path / 'authspec.db'}")
    monkeypatch.setenv("AUTHSPEC_MAIL_BACKEND", "memory")
    monkeypatch.setenv("AUTHSPEC_MIGRATE_ON_START", "true")
    monkeypatch.setattr(cli, "_run_server", record)
    calls["db"] = tmp_path / "authspec.db"
    return calls


@pytest.mark.parametrize(
    ("flag", "setting", "expected"),
    [(None, None, 1), (None, "3", 3), ("2", "3", 2), ("2", None, 2)],
    ids=["default", "setting", "flag-wins", "flag"],
)
def test_serve_asks_for_the_flag_else_the_setting_else_one_worker(
    recorded: dict[str, Any], monkeypatch: pytest.MonkeyPatch, flag: str | None, setting: str | None, expected: int
) -> None:
    if setting is not None:
        monkeypatch.setenv("AUTHSPEC_WORKERS", setting)
    assert cli.main(["serve", *(["--workers", flag] if flag else [])]) == 0
    assert (recorded["command"], recorded["workers"]) == ("serve", expected)


def test_serve_migrates_once_before_the_workers_and_turns_theirs_off(recorded: dict[str, Any]) -> None:
    assert cli.main(["serve", "--workers", "2"]) == 0
    authspec_env = {k: v for k, v in recorded["worker_env"].items() if k.startswith("AUTHSPEC_")}
    assert authspec_env == {"AUTHSPEC_MIGRATE_ON_START": "false"}

    async def revision() -> str | None:
        db = Database(f"sqlite:///{recorded['db']}")
        try:
            return await current_revision(db)
        finally:
            await db.dispose()

    assert asyncio.run(revision()) == head_revision()


def test_several_workers_share_a_fresh_metrics_directory_removed_after_the_run(recorded: dict[str, Any]) -> None:
    assert cli.main(["serve", "--workers", "2"]) == 0
    metrics_dir = recorded["worker_env"]["PROMETHEUS_MULTIPROC_DIR"]
    assert recorded["metrics_dir_listing"] == []  # it existed, empty, while the workers ran
    assert not Path(metrics_dir).exists()
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


@pytest.mark.parametrize(("workers", "metrics"), [("1", "true"), ("2", "false")], ids=["one-worker", "metrics-off"])
def test_no_metrics_directory_for_one_worker_or_without_metrics(
    recorded: dict[str, Any], monkeypatch: pytest.MonkeyPatch, workers: str, metrics: str
) -> None:
    monkeypatch.setenv("AUTHSPEC_METRICS", metrics)
    assert cli.main(["serve", "--workers", workers]) == 0
    assert "PROMETHEUS_MULTIPROC_DIR" not in recorded["worker_env"]


@pytest.mark.parametrize("count", ["0", "-1", "two", "65"])
def test_a_bad_worker_count_is_refused_by_the_argument_parser(count: str) -> None:
    done = subprocess.run(
        [*authspec_cli("serve", free_port()), "--workers", count],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"authspec serve: error: argument --workers: expected a number of processes from 1 to 64, got {count!r}"
    )
    assert "Traceback" not in done.stderr


def test_a_bad_workers_setting_stops_serve_with_one_line_naming_it() -> None:
    done = subprocess.run(
        authspec_cli("serve", free_port()),
        env=clean_env(AUTHSPEC_WORKERS="0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("authspec serve: AUTHSPEC_WORKERS: "), done.stderr


def test_serve_leaves_an_in_memory_database_to_each_worker_to_migrate(
    recorded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHSPEC_DATABASE_URL", "sqlite:///:memory:")
    assert cli.main(["serve"]) == 0
    assert recorded["worker_env"] == {}  # the parent's copy would die with it
