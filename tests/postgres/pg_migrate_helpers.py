"""Helpers for the PostgreSQL migration tests: corpus paths, the CLI, catalog reads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pgkit import query

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
SQLX_POSTGRES = CORPUS / "sqlx" / "tests" / "postgres"
ATUIN_POSTGRES = CORPUS / "atuin" / "crates" / "atuin-server-postgres" / "migrations"
HANG_S = 20.0
"""How long a test waits for what comes at once (a run ending after Ctrl+C, a lock wait
starting) before calling it hung."""


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    """Create `folder` holding `files` (written as UTF-8 bytes, no newline changes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content.encode())
    return folder


def cli_command(*args: str | Path) -> list[str]:
    """`python -m dbinspect ARGS`, as a user runs it."""
    return [sys.executable, "-m", "dbinspect", *map(str, args)]


def cli_env() -> dict[str, str]:
    """The environment for a CLI subprocess: this checkout first, no DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(REPO)
    return env


def run_cli(
    *args: str | Path, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `dbinspect ARGS` in `cwd` to the end (with `env` added to the environment)."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env={**cli_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(*args: str | Path, cwd: Path) -> subprocess.Popen[str]:
    """Start `dbinspect ARGS` in `cwd`, its output piped."""
    return subprocess.Popen(
        cli_command(*args),
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = HANG_S) -> None:
    """Poll `condition` until it holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        time.sleep(0.02)


def tables(url: str, schema: str = "public") -> set[str]:
    """The names of the tables of `schema`."""
    rows = query(url, "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return {str(r[0]) for r in rows}


def tracking_rows(url: str, table: str = "_sqlx_migrations") -> list[tuple[object, ...]]:
    """(version, description, success, checksum, execution_time) of every tracking row."""
    if query(url, "SELECT to_regclass(%s)", (table,)) == [(None,)]:
        return []
    return query(
        url,
        "SELECT version, description, success, checksum, execution_time "
        f"FROM {table} ORDER BY version",
    )


def database_name(url: str) -> str:
    """The database part of a test URL."""
    return url.rpartition("/")[2]


def dbinspect_backends(url: str) -> list[tuple[object, ...]]:
    """(pid, state, wait_event_type, wait_event, query) of dbinspect's sessions on `url`."""
    return query(
        url,
        "SELECT pid, state, wait_event_type, wait_event, query FROM pg_stat_activity "
        "WHERE application_name = 'dbinspect' AND datname = %s ORDER BY pid",
        (database_name(url),),
    )
