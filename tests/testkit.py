"""Paths, types and helpers the tests share, importable as `testkit` from any test.

Kept out of `conftest.py`: `from conftest import ...` picks whichever `conftest` module
was imported first (tests/migrate has its own), so shared names live here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

import pytest

from dbinspect.sqlite_driver import dbapi as sqlite3

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / ".." / "shared" / "corpus"
CHINOOK = CORPUS / "chinook-database" / "ChinookDatabase" / "DataSources" / "Chinook_Sqlite.sqlite"
SQLX_DB = CORPUS / "sqlx" / "tests" / "sqlite" / "sqlite.db"

MakeDb = Callable[..., Path]
RunCli = Callable[..., subprocess.CompletedProcess[str]]


def create_db(tmp_path: Path, sql: str, name: str = "test.db") -> Path:
    """Create `tmp_path / name` by running `sql` as one script; returns its path."""
    path = tmp_path / name
    conn = sqlite3.connect(path)
    try:
        conn.executescript(sql)
        conn.commit()
    finally:
        conn.close()
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any DATABASE_URL or dbinspect setting, plus `extra`.

    The SQLite library choice and the tests' private data directory are kept.
    """
    kept = ("DBINSPECT_SQLITE", "DBINSPECT_DATA_DIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (k in kept or not k.startswith("DBINSPECT_"))
    }
    env.update(extra or {})
    return env


def missing_tool(reason: str) -> NoReturn:
    """Skip a test whose tool is not installed; with `CI=true` fail instead.

    `.ci/run` installs every tool the tests run (`scripts/test-tools`), so in CI a
    missing one is a broken setup, not a reason to test less.
    """
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI installs it with scripts/test-tools)")
    pytest.skip(reason)
