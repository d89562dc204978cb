"""Tests that `migrate info|run|revert|restamp` take the database as an argument, as the
other commands do, and that the argument wins over `--database-url`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dbinspect.ops.demo import SAMPLE_MIGRATIONS
from dbinspect.sqlite_driver import dbapi as sqlite3

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A working directory with the sample migrations in `migrations/` and no database yet."""
    shutil.copytree(SAMPLE_MIGRATIONS, tmp_path / "migrations")
    return tmp_path


def applied(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT version FROM _sqlx_migrations ORDER BY 1")]
    finally:
        conn.close()


@pytest.mark.parametrize("database", ["app.db", "sqlite:app.db"])
def test_run_info_revert_take_the_database_argument(
    run_cli: RunCli, project: Path, database: str
) -> None:
    ran = run_cli("migrate", "run", database, "--target-version", "2", cwd=project)
    assert ran.returncode == 0, ran.stderr
    assert applied(project / "app.db") == [1, 2]

    info = run_cli("migrate", "info", database, cwd=project)
    assert info.returncode == 0, info.stderr
    assert info.stdout.splitlines()[:3] == [
        "1/installed create workspaces and sessions",
        "2/installed create projects and generations",
        "3/pending create documents and decisions",
    ]

    reverted = run_cli("migrate", "revert", database, cwd=project)
    assert reverted.returncode == 0, reverted.stderr
    assert applied(project / "app.db") == [1]


def test_restamp_keeps_version_first(run_cli: RunCli, project: Path) -> None:
    assert run_cli("migrate", "run", "app.db", cwd=project).returncode == 0
    restamped = run_cli("migrate", "restamp", "3", "app.db", cwd=project)
    assert restamped.returncode == 0, restamped.stderr
    assert "3: checksum unchanged" in restamped.stdout
    swapped = run_cli("migrate", "restamp", "app.db", "3", cwd=project)
    assert swapped.returncode == 2  # a usage error: VERSION is not a number
    assert "'app.db' is not a valid integer" in swapped.stderr


def test_the_argument_wins_over_the_flag_and_the_environment(
    run_cli: RunCli, project: Path
) -> None:
    env = {"DATABASE_URL": "sqlite:from_env.db"}
    ran = run_cli("migrate", "run", "-D", "sqlite:from_flag.db", "chosen.db", cwd=project, env=env)
    assert ran.returncode == 0, ran.stderr
    assert applied(project / "chosen.db") == [1, 2, 3, 4, 5]
    assert not (project / "from_flag.db").exists()
    assert not (project / "from_env.db").exists()


def test_the_flag_still_works_without_the_argument(run_cli: RunCli, project: Path) -> None:
    ran = run_cli("migrate", "run", "--database-url", "sqlite:flag.db", cwd=project)
    assert ran.returncode == 0, ran.stderr
    info = run_cli("migrate", "info", "-D", "flag.db", cwd=project)
    assert info.returncode == 0, info.stderr
    assert info.stdout.count("/installed") == 5


def test_no_database_names_the_argument(
    run_cli: RunCli, project: Path, one_line_error: OneLineError
) -> None:
    for command in ("info", "run", "revert"):
        missing = run_cli("migrate", command, cwd=project)
        one_line_error(missing, "no database given", "pass DATABASE or --database-url")


def test_add_takes_no_database(run_cli: RunCli, project: Path) -> None:
    extra = run_cli("migrate", "add", "name", "app.db", cwd=project)
    assert extra.returncode == 2
    assert "unexpected extra argument" in extra.stderr.lower()
