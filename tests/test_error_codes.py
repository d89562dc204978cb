"""SQLite errors are told apart by result code, never by words a user's names can hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.errors import DbInspectError
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url


def test_a_missing_table_named_locked_fails_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_fill.sql").write_text(
        "-- no-transaction\nINSERT INTO locked_accounts(id) VALUES (1);\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "run", "-D", "sqlite:app.db",
         "--source", str(folder)],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    # Taken for a lock, the statement would be retried for 30 s and end in "the database
    # stayed locked for 30 s" instead of SQLite's own error.
    assert "no such table: locked_accounts" in result.stderr
    assert "stayed locked" not in result.stderr


async def test_a_broken_view_named_busy_is_not_called_locked(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE busy_hours(h INTEGER); CREATE VIEW busy_view AS SELECT h FROM busy_hours;"
        "DROP TABLE busy_hours;"
    )
    conn.close()
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        try:
            await backend.row_count("busy_view")
        except DbInspectError as error:
            message = error.one_line()
        else:
            raise AssertionError("a view over a dropped table cannot be counted")
    finally:
        await backend.aclose()
    assert "no such table" in message and "busy_hours" in message
    assert "locked" not in message.replace("busy_hours", "")
