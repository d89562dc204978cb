"""`dbinspect check` on SQLite files: integrity, foreign keys, migration state and drift."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import RunCli

from dbinspect.migrate.runner import run_migrations
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

MIGRATIONS = {
    "0001_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n"
    "CREATE INDEX users_name ON users(name);\n",
    "0002_posts.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY,"
    " user_id INTEGER REFERENCES users(id), body TEXT);\n",
}


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    """app.db with both migrations applied, and the folder beside it."""
    folder = write_migrations(tmp_path / "migrations", MIGRATIONS)
    db = tmp_path / "app.db"
    run_migrations(parse_url(str(db)), folder)
    return db


def run_sql(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.executescript(sql)
        conn.commit()
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_as_migrated_is_well(migrated: Path, run_cli: RunCli) -> None:
    result = run_cli("check", migrated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "integrity: ok" in result.stdout
    assert "migrations: ok (2 applied)" in result.stdout
    assert "drift: none" in result.stdout
    assert result.stdout.rstrip().endswith("result: all is well")


def test_a_column_added_by_hand_is_drift_and_check_changes_nothing(
    migrated: Path, run_cli: RunCli
) -> None:
    run_sql(migrated, "ALTER TABLE users ADD COLUMN email TEXT")
    before = digest(migrated)
    result = run_cli("check", migrated)
    assert result.returncode == 1
    assert "changed table users:" in result.stdout
    assert "database has CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)" in (
        result.stdout
    )
    report = json.loads(run_cli("check", "--json", migrated).stdout)
    assert report["ok"] is False
    [drift] = report["drift"]
    assert (drift["change"], drift["kind"], drift["name"]) == ("changed", "table", "users")
    assert [c["name"] for c in drift["expected"]["columns"]] == ["id", "name"]
    assert [c["name"] for c in drift["actual"]["columns"]] == ["id", "name", "email"]
    assert digest(migrated) == before
    assert sorted(p.name for p in migrated.parent.iterdir()) == ["app.db", "migrations"]


def test_objects_added_and_dropped_by_hand(migrated: Path, run_cli: RunCli) -> None:
    run_sql(migrated, "DROP INDEX users_name; CREATE VIEW v AS SELECT 1;")
    report = json.loads(run_cli("check", "--json", migrated).stdout)
    found = {(d["change"], d["kind"], d["name"]) for d in report["drift"]}
    assert found == {("missing", "index", "users_name"), ("added", "view", "v")}
    missing = next(d for d in report["drift"] if d["change"] == "missing")
    assert missing["actual"] is None and "CREATE INDEX users_name" in missing["expected"]["sql"]


def test_pending_and_modified_migrations_fail(migrated: Path, run_cli: RunCli) -> None:
    folder = migrated.parent / "migrations"
    (folder / "0003_tags.sql").write_text("CREATE TABLE tags (name TEXT);\n")
    (folder / "0002_posts.sql").write_text(MIGRATIONS["0002_posts.sql"] + "-- edited\n")
    result = run_cli("check", migrated)
    assert result.returncode == 1
    assert "  3 tags: pending" in result.stdout
    assert "  2 posts: modified" in result.stdout
    assert "drift: none" in result.stdout  # pending files are not drift


def test_foreign_key_violations_fail(migrated: Path, run_cli: RunCli) -> None:
    run_sql(migrated, "INSERT INTO posts (id, user_id) VALUES (7, 42)")
    result = run_cli("check", migrated)
    assert result.returncode == 1
    assert "posts rowid 7: no matching row in users" in result.stdout


def test_a_statement_outside_the_database_is_skipped_and_reported(
    tmp_path: Path, run_cli: RunCli
) -> None:
    other = tmp_path / "other.db"
    folder = write_migrations(
        tmp_path / "migrations",
        {"0001_side.sql": f"ATTACH DATABASE '{other}' AS side;\nCREATE TABLE t (x);\n"},
    )
    db = tmp_path / "app.db"
    run_migrations(parse_url(str(db)), folder)
    other.unlink()
    result = run_cli("check", db)
    assert result.returncode == 0, result.stdout
    assert "skipped in the replay (acts outside the database): 0001_side.sql statement 1: " in (
        result.stdout
    )
    assert not other.exists()  # the replay did not attach (create) it


def test_a_damaged_index_fails_integrity(migrated: Path, run_cli: RunCli, tmp_path: Path) -> None:
    run_sql(
        migrated,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO users (name) SELECT 'name ' || i FROM n",
    )
    conn = sqlite3.connect(migrated)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'users_name'").fetchone()
    conn.close()
    data = bytearray(migrated.read_bytes())
    start = (root[0] - 1) * page_size
    data[start + 8 : start + 40] = b"\xff" * 32  # garble the index's root page cells
    migrated.write_bytes(bytes(data))
    result = run_cli("check", migrated)
    assert result.returncode == 1
    assert "integrity: PROBLEMS" in result.stdout


def test_without_migrations_folder_says_what_was_not_checked(
    make_db: Callable[..., Path], tmp_path: Path, run_cli: RunCli
) -> None:
    db = make_db(tmp_path, "CREATE TABLE t (x);")
    result = run_cli("check", db)
    assert result.returncode == 0
    assert "note: no migrations folder at " in result.stdout


def test_a_missing_file_is_one_error_line(
    run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    one_line_error(run_cli("check", "nope.db"), "nope.db")
