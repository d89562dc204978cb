"""A migration file whose name is not UTF-8 is read as sqlx reads it: lossily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbinspect.sqlite_driver import dbapi as sqlite3


def test_a_non_utf8_file_name_applies_with_a_lossy_description(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    name = os.fsdecode(b"1_caf\xe9_\x9b.sql")
    (folder / name).write_text("CREATE TABLE a(x);\n")
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "run", "-D", "sqlite:app.db",
         "--source", str(folder)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    conn = sqlite3.connect(tmp_path / "app.db")
    try:
        rows = conn.execute("SELECT version, description FROM _sqlx_migrations").fetchall()
    finally:
        conn.close()
    # Rust's to_string_lossy: each invalid byte is U+FFFD, `_` becomes a space.
    assert rows == [(1, "caf\ufffd \ufffd")]
