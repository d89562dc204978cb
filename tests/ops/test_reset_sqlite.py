"""`dbinspect reset` on SQLite: refused without --force; with it, a backup and the migrations."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from testkit import RunCli

from dbinspect.migrate.runner import run_migrations
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

MIGRATION = "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\n"


def schema_rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall()
    finally:
        conn.close()


def test_reset(tmp_path: Path, run_cli: RunCli, one_line_error: Callable[..., str]) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_users.sql").write_text(MIGRATION)
    fresh = tmp_path / "fresh.db"
    run_migrations(parse_url(str(fresh)), folder)
    db = tmp_path / "app.db"
    run_migrations(parse_url(str(db)), folder)
    conn = sqlite3.connect(db)
    conn.executescript(
        "INSERT INTO users (name) VALUES ('a'), ('b');"
        "CREATE TABLE extra (x); CREATE VIEW v AS SELECT * FROM extra;"
        "CREATE INDEX users_name ON users (name);"
    )
    conn.commit()
    conn.close()
    before = db.read_bytes()

    one_line_error(run_cli("reset", db), "reset drops every object", "--force")
    assert db.read_bytes() == before

    result = run_cli("reset", db, "--force")
    assert result.returncode == 0, result.stderr
    assert schema_rows(db) == schema_rows(fresh)  # exactly the migrated schema
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM sqlite_sequence").fetchone() == (0,)
    conn.close()
    [backup] = [p for p in tmp_path.iterdir() if p.name.startswith("app-")]
    assert f"backup: {backup}" in result.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT name FROM users ORDER BY id").fetchall() == [("a",), ("b",)]
    conn.close()
    assert "applied 1 migration(s)" in result.stdout
