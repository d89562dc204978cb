"""Tests that refusals come before anything is created, and name their cause."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from migrate_helpers import file_bytes, tracking_rows, write_folder

from dbinspect.sqlite_driver import dbapi as sqlite3

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]
LOOP = os.strerror(errno.ELOOP)  # "Too many levels of symbolic links"

REFUSED = {
    "begin": "CREATE TABLE b (x);\nBEGIN;\nINSERT INTO b VALUES (1);\n",
    "commit": "CREATE TABLE b (x);\nCOMMIT;\n",
    "vacuum": "CREATE TABLE b (x);\nVACUUM;\n",
}


def migrate(
    run_cli: RunCli, db: Path, folder: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    command, *rest = args
    return run_cli("migrate", command, "--database-url", f"sqlite:{db}", "--source", folder, *rest)


def table_names(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    finally:
        conn.close()


@pytest.mark.parametrize("keyword", sorted(REFUSED))
def test_refused_file_creates_no_database(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, keyword: str
) -> None:
    folder = write_folder(
        tmp_path / "m", {"1_ok.sql": "CREATE TABLE a (x);\n", "2_bad.sql": REFUSED[keyword]}
    )
    db = tmp_path / "new.db"
    one_line_error(migrate(run_cli, db, folder, "run"), "2_bad.sql", keyword.upper())
    assert not db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no journal either


@pytest.mark.parametrize("keyword", sorted(REFUSED))
def test_refused_file_creates_no_tracking_table(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, keyword: str
) -> None:
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE existing (x)")
    conn.commit()
    conn.close()
    before = file_bytes(db)
    folder = write_folder(tmp_path / "m", {"1_bad.sql": REFUSED[keyword]})
    one_line_error(migrate(run_cli, db, folder, "run"), "1_bad.sql", keyword.upper())
    assert table_names(db) == {"existing"}
    assert file_bytes(db) == before


def test_refusal_after_applied_migrations_leaves_them_alone(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    db = tmp_path / "app.db"
    folder = write_folder(tmp_path / "m", {"1_ok.sql": "CREATE TABLE a (x);\n"})
    assert migrate(run_cli, db, folder, "run").returncode == 0
    rows = tracking_rows(db)
    write_folder(folder, {"2_bad.sql": REFUSED["commit"]})
    one_line_error(migrate(run_cli, db, folder, "run"), "2_bad.sql", "COMMIT")
    assert tracking_rows(db) == rows
    assert table_names(db) == {"_sqlx_migrations", "a"}


def test_unknown_target_creates_no_database(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "m", {"1_ok.sql": "CREATE TABLE a (x);\n"})
    db = tmp_path / "new.db"
    one_line_error(migrate(run_cli, db, folder, "run", "--target-version", "7"), "7")
    assert not db.exists()


def test_nul_character_refused_before_running(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    # SQLite would stop reading the statement at the NUL (sqlx runs half the file).
    folder = write_folder(tmp_path / "m", {"1_nul.sql": b"CREATE TABLE a (x);\n\x00DROP TABLE a;"})
    db = tmp_path / "new.db"
    one_line_error(migrate(run_cli, db, folder, "run"), "1_nul.sql", "line 2", "NUL")
    assert not db.exists()


COMMANDS = [
    ["info"],
    ["info", "--json"],
    ["run"],
    ["run", "--dry-run"],
    ["revert"],
    ["revert", "--dry-run"],
    ["restamp", "1", "--yes"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_database_path_in_a_symlink_loop(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, command: list[str]
) -> None:
    folder = write_folder(
        tmp_path / "m", {"1_ok.up.sql": "select 1;", "1_ok.down.sql": "select 1;"}
    )
    (tmp_path / "loop").symlink_to("loop")
    one_line_error(migrate(run_cli, tmp_path / "loop", folder, *command), "loop", LOOP)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_database_path_under_a_file(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, command: list[str]
) -> None:
    folder = write_folder(
        tmp_path / "m", {"1_ok.up.sql": "select 1;", "1_ok.down.sql": "select 1;"}
    )
    (tmp_path / "file").write_text("")
    db = tmp_path / "file" / "app.db"
    one_line_error(migrate(run_cli, db, folder, *command), str(db), os.strerror(errno.ENOTDIR))


@pytest.mark.parametrize("command", [*COMMANDS, ["add", "x"]], ids=" ".join)
def test_migrations_folder_in_a_symlink_loop(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, command: list[str]
) -> None:
    db = tmp_path / "app.db"
    (tmp_path / "loop").symlink_to("loop")
    if command[0] == "add":
        result = run_cli("migrate", "add", "--source", tmp_path / "loop", "x")
    else:
        result = migrate(run_cli, db, tmp_path / "loop", *command)
    one_line_error(result, "loop", LOOP)
    assert not db.exists()


def test_migrations_folder_that_is_a_file(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    (tmp_path / "m").write_text("")
    one_line_error(migrate(run_cli, tmp_path / "app.db", tmp_path / "m", "info"), "not a folder")
