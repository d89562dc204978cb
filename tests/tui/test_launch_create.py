"""`--create` makes a real, empty SQLite database; combined with `--read-only` it is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbinspect.backends.sqlite_files import create_empty_database
from dbinspect.sqlite_driver import dbapi as sqlite3


def test_create_database_writes_a_valid_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    create_empty_database(path)
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)
    finally:
        conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.db"]


def test_create_with_read_only_is_one_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "--create", "--read-only", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--create" in lines[0]
    assert list(tmp_path.iterdir()) == []
