"""Tests `migrate baseline` on SQLite: adopting a database built without sqlx.

The database is built by `sqlite3 app.db < schema.sql`, as a person builds one by hand;
baseline records the folder's migrations up to a version exactly as sqlx records them,
and a later `migrate run` applies only the newer files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from migrate_helpers import REPO, tracking_rows, write_folder

from dbinspect.cli_migrate import migrate
from dbinspect.errors import DbInspectError, MigrationError
from dbinspect.migrate.source import load_migrations
from dbinspect.migrate.sqlite_store import SqliteStore
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

FILES = {
    "0001_users.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "0002_users_name.sql": "CREATE INDEX users_name ON users (name);\n",
    "0003_posts.sql": (
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n"
    ),
}
SCHEMA = FILES["0001_users.sql"] + FILES["0002_users_name.sql"]
"""What the hand-built database holds: the first two migrations' schema."""


def build_by_hand(path: Path, schema: str) -> None:
    """`sqlite3 PATH < schema.sql`, or the same script through the library without the shell."""
    shell = shutil.which("sqlite3")
    if shell is not None:
        subprocess.run([shell, str(path)], input=schema, text=True, check=True, timeout=30)
        return
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with migrations/ and app.db built by hand from SCHEMA."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write_folder(tmp_path / "migrations", dict(FILES))
    build_by_hand(tmp_path / "app.db", SCHEMA)
    (tmp_path / "users.sql").write_text("INSERT INTO users (name) VALUES ('ada');\n")
    return tmp_path


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(migrate, list(args), input=stdin, catch_exceptions=False)


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
        return {str(name) for (name,) in rows}
    finally:
        conn.close()


def test_baseline_adopts_a_hand_built_database_and_run_applies_only_newer_files(
    project: Path,
) -> None:
    db = project / "app.db"
    result = invoke("baseline", "2", "-y", "app.db")
    assert result.exit_code == 0, result.output
    assert "  1/baseline users\n  2/baseline users name\n" in result.output
    assert "Baselined 2 migration(s) up to 2" in result.output
    assert "0003" not in result.output
    rows = tracking_rows(db)
    folder = {m.version: m for m in load_migrations(project / "migrations")}
    assert rows == [
        (1, "users", 1, folder[1].checksum, 0),
        (2, "users name", 1, folder[2].checksum, 0),
    ]
    # sqlx's checksum is the SHA-384 of the file's bytes.
    assert rows[0][3] == hashlib.sha384(FILES["0001_users.sql"].encode()).digest()
    conn = sqlite3.connect(db)
    installed = conn.execute("SELECT installed_on FROM _sqlx_migrations").fetchall()
    conn.close()
    assert all(value and str(value)[:2] == "20" for (value,) in installed)

    info = invoke("info", "app.db")
    assert info.output == "1/installed users\n2/installed users name\n3/pending posts\n"

    ran = invoke("run", "app.db")
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("Applied 3/migrate posts")
    assert "1/migrate" not in ran.output and "2/migrate" not in ran.output
    assert {"users", "posts", "_sqlx_migrations"} <= table_names(db)
    assert [r[0] for r in tracking_rows(db)] == [1, 2, 3]


def test_baseline_rows_are_the_rows_sqlx_writes(project: Path) -> None:
    """Baseline's rows match `migrate run`'s (which are sqlx's) but for the time taken."""
    assert invoke("baseline", "3", "-y", "app.db").exit_code == 0
    fresh = project / "fresh.db"
    assert invoke("run", f"sqlite:{fresh}").exit_code == 0
    adopted = [row[:4] for row in tracking_rows(project / "app.db")]
    assert adopted == [row[:4] for row in tracking_rows(fresh)]
    conn = sqlite3.connect(project / "app.db")
    ddl = conn.execute("SELECT sql FROM sqlite_schema WHERE name = '_sqlx_migrations'").fetchone()
    conn.close()
    conn = sqlite3.connect(fresh)
    expected = conn.execute(
        "SELECT sql FROM sqlite_schema WHERE name = '_sqlx_migrations'"
    ).fetchone()
    conn.close()
    assert ddl == expected


def test_baseline_without_a_terminal_and_without_y_refuses_in_one_line(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "baseline", "2", "app.db"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "Would record as applied" in done.stdout
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: confirmation needed but standard input is not a terminal")
    assert "pass -y" in done.stderr
    assert "_sqlx_migrations" not in table_names(project / "app.db")


def refusal(result: Result) -> str:
    """The one line the CLI prints for the command's refusal."""
    assert result.exit_code == 1
    assert isinstance(result.exception, DbInspectError), result.output
    return result.exception.one_line()


def test_baseline_refuses_a_database_whose_tracking_table_has_rows(project: Path) -> None:
    assert invoke("baseline", "1", "-y", "app.db").exit_code == 0
    before = tracking_rows(project / "app.db")
    result = CliRunner().invoke(migrate, ["baseline", "2", "-y", "app.db"])
    assert "_sqlx_migrations already has 1 row(s)" in refusal(result)
    assert "Would record" not in result.output  # refused before showing anything
    assert tracking_rows(project / "app.db") == before


def test_baseline_refuses_a_version_not_in_the_folder(project: Path) -> None:
    result = CliRunner().invoke(migrate, ["baseline", "7", "-y", "app.db"])
    assert "version 7 is not in the migrations folder" in refusal(result)
    assert "_sqlx_migrations" not in table_names(project / "app.db")


def test_baseline_refuses_a_missing_database_and_creates_none(project: Path) -> None:
    result = CliRunner().invoke(migrate, ["baseline", "2", "-y", "sqlite:missing.db"])
    assert "database not found" in refusal(result)
    assert not (project / "missing.db").exists()


def test_record_baseline_refuses_rows_that_appear_after_the_plan(project: Path) -> None:
    """The emptiness check runs in the recording transaction, not only before it."""
    url = parse_url(f"sqlite:{project / 'app.db'}")
    migrations = load_migrations(project / "migrations")
    store = SqliteStore.open(url, "_sqlx_migrations", write=True)
    try:
        store.ensure_table()
        store.conn.execute(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
            "execution_time) VALUES (1, 'users', TRUE, x'00', 5)"
        )
        with pytest.raises(MigrationError, match="already has 1 row"):
            store.record_baseline(migrations[:2])
    finally:
        store.close()
    assert [r[0] for r in tracking_rows(project / "app.db")] == [1]


def test_baseline_check_passes_when_the_schema_matches(project: Path) -> None:
    result = invoke("baseline", "2", "--check", "-y", "app.db")
    assert result.exit_code == 0, result.output
    assert "Schema matches the migrations up to 2" in result.output
    assert [r[0] for r in tracking_rows(project / "app.db")] == [1, 2]


def test_baseline_check_refuses_a_drifted_schema_and_lists_the_difference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    write_folder(tmp_path / "migrations", dict(FILES))
    drifted = (
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n"
        "CREATE TABLE notes (body TEXT);\n"
    )
    build_by_hand(tmp_path / "app.db", drifted)
    result = CliRunner().invoke(migrate, ["baseline", "2", "--check", "-y", "app.db"])
    line = refusal(result)
    assert "The database differs from the migrations up to 2:" in result.output
    assert "  changed table users: sql" in result.output
    assert "  added table notes (in the database, not in the migrations)" in result.output
    assert "  missing index users_name (in the migrations, not in the database)" in result.output
    assert line.startswith("the schema differs from the migrations up to 2 in 3 object(s)")
    assert "Would record" not in result.output
    assert "_sqlx_migrations" not in table_names(tmp_path / "app.db")


def test_baseline_refuses_a_dbmate_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_folder(
        tmp_path / "db" / "migrations",
        {"20240101000000_users.sql": "-- migrate:up\nCREATE TABLE u (id int);\n-- migrate:down\n"},
    )
    build_by_hand(tmp_path / "app.db", "CREATE TABLE u (id int);\n")
    result = CliRunner().invoke(
        migrate, ["baseline", "20240101000000", "-y", "--source", "db/migrations", "app.db"]
    )
    assert "is a dbmate folder" in refusal(result)
    assert "_sqlx_migrations" not in table_names(tmp_path / "app.db")


@pytest.mark.parametrize(("answer", "recorded"), [("y", [1, 2]), ("n", None)])
def test_baseline_asks_on_a_terminal(
    project: Path, answer: str, recorded: list[int] | None
) -> None:
    import pty

    leader, follower = pty.openpty()
    try:
        os.write(leader, f"{answer}\n".encode())
        done = subprocess.run(
            [sys.executable, "-m", "dbinspect", "migrate", "baseline", "2", "app.db"],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert "Record these 2 migration(s) as applied? [y/N]" in done.stdout
    if recorded is None:
        assert done.returncode == 1
        assert "_sqlx_migrations" not in table_names(project / "app.db")
    else:
        assert done.returncode == 0, done.stderr
        assert [r[0] for r in tracking_rows(project / "app.db")] == recorded
