"""`dbinspect backup` in SQLite's own format: the online backup API, verified, never partial."""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import MakeDb, RunCli, clean_env

from dbinspect.sqlite_driver import dbapi as sqlite3

SCRIPT = """
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO t(v) VALUES ('a'), ('b'), (NULL);
PRAGMA user_version = 7;
"""


def rows(path: Path, sql: str = "SELECT * FROM t ORDER BY id") -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_backup_is_a_verified_copy_with_mode_0600_and_the_default_name(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    database = make_db(tmp_path, SCRIPT, name="app.db")
    result = run_cli("backup", database)
    assert result.returncode == 0, result.stderr
    [copy] = [p for p in tmp_path.iterdir() if p.name != "app.db"]
    assert copy.name.startswith("app-") and copy.name.endswith("Z.sqlite")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert rows(copy) == rows(database)
    assert rows(copy, "PRAGMA user_version") == [(7,)]
    assert "integrity_check ok" in result.stderr and str(copy) in result.stderr


def test_a_symlink_planted_at_the_target_is_replaced_not_written_through(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    database = make_db(tmp_path, SCRIPT)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "out.sqlite"
    target.symlink_to(victim)
    result = run_cli("backup", database, "-o", target)
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and rows(target) == rows(database)


def test_a_folder_that_cannot_be_written_asks_for_o(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes any folder")
    folder = tmp_path / "ro"
    folder.mkdir()
    database = make_db(folder, SCRIPT)
    folder.chmod(0o555)
    try:
        result = run_cli("backup", database)
    finally:
        folder.chmod(0o755)
    one_line_error(result, "is not writable", "-o FILE")


def test_a_missing_database_or_a_wrong_format_is_one_error_line(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:

    one_line_error(run_cli("backup", tmp_path / "nope.db"), "no database file")
    database = make_db(tmp_path, SCRIPT)
    one_line_error(run_cli("backup", database, "--format", "custom"), "--format custom")
    assert not (tmp_path / "nope.db").exists()


WRITER = """
import sys, sqlite3, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
while True:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t(v) VALUES (randomblob(3000))")
    conn.execute("UPDATE counter SET n = n + 1")
    conn.execute("COMMIT")
    time.sleep(0.001)  # with a rollback journal a writer that never pauses starves readers
"""


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_backup_under_a_writer_is_one_moment_of_the_database(
    tmp_path: Path, run_cli: RunCli, journal: str
) -> None:
    database = tmp_path / "busy.db"
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.executescript(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE counter(n INTEGER);"
        "INSERT INTO counter VALUES (0);"
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 6000)"
        " INSERT INTO t(v) SELECT randomblob(3000) FROM r;"
    )
    conn.close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(database)])
    try:
        deadline = time.monotonic() + 10
        while rows(database, "SELECT n FROM counter") == [(0,)] and time.monotonic() < deadline:
            time.sleep(0.01)
        target = tmp_path / "copy.sqlite"
        result = run_cli("backup", database, "-o", target)
        assert writer.poll() is None  # the writer ran all along
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 0, result.stderr
    assert rows(target, "PRAGMA integrity_check") == [("ok",)]
    # Every write adds a row and counts it in the same transaction: a copy of one moment
    # holds as many rows beyond the first 6000 as the counter says.
    [(count, counted)] = rows(target, "SELECT count(*), (SELECT n FROM counter) FROM t")
    assert isinstance(count, int) and isinstance(counted, int)
    assert counted > 0 and count == 6000 + counted


def test_a_disk_that_fills_leaves_no_partial_file(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(
        tmp_path,
        "CREATE TABLE t(v BLOB);"
        "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 2000)"
        " INSERT INTO t SELECT randomblob(1000) FROM r;",
    )
    before = sorted(tmp_path.iterdir())
    for fmt in ("sqlite", "sql", "json"):
        result = subprocess.run(
            [sys.executable, "-m", "dbinspect", "backup", str(database), "--format", fmt],
            capture_output=True, text=True, env=clean_env(), cwd=tmp_path, timeout=30,
            check=False,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000)),
        )  # fmt: skip
        assert result.returncode == 1, (fmt, result.stderr)
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
        assert sorted(tmp_path.iterdir()) == before, fmt
