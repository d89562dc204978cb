"""`dbinspect restore` into SQLite: refusals, a damaged backup, a snapshot, every format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import MakeDb, RunCli

from dbinspect.sqlite_driver import dbapi as sqlite3
from ops.dbcompare import snapshot

ORIGINAL = """
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
INSERT INTO t(v) VALUES ('old 1'), ('old 2');
"""
NEW = """
PRAGMA user_version = 3;
CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE extra(x BLOB);
INSERT INTO t(v) VALUES ('new 1'), ('new 2'), ('new 3');
INSERT INTO extra VALUES (X'00FF'), (zeroblob(5000));
CREATE INDEX ix ON t(v);
"""
FORMATS = ("sqlite", "sql", "json")


def make_backup(tmp_path: Path, make_db: MakeDb, run_cli: RunCli, fmt: str) -> Path:
    source = make_db(tmp_path, NEW, name="new.db")
    target = tmp_path / f"new.{fmt}"
    result = run_cli("backup", source, "--format", fmt, "-o", target)
    assert result.returncode == 0, result.stderr
    return target


@pytest.mark.parametrize("fmt", FORMATS)
def test_restore_replaces_the_database_and_keeps_a_snapshot(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, fmt: str
) -> None:
    backup = make_backup(tmp_path, make_db, run_cli, fmt)
    backup = backup.rename(tmp_path / "no-telling-extension.bin")  # format from content
    live = make_db(tmp_path, ORIGINAL, name="live.db")
    before = snapshot(live)
    result = run_cli("restore", backup, live, "--force")
    assert result.returncode == 0, result.stderr
    assert snapshot(live) == snapshot(tmp_path / "new.db")
    [kept] = tmp_path.glob("live-before-restore-*.sqlite")
    assert str(kept) in result.stderr and f"the {fmt} backup" in result.stderr
    assert snapshot(kept) == before


def test_restore_refuses_a_database_holding_data_without_force(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    backup = make_backup(tmp_path, make_db, run_cli, "sqlite")
    live = make_db(tmp_path, ORIGINAL, name="live.db")
    before = live.read_bytes()
    one_line_error(run_cli("restore", backup, live), "--force", "holds 1 schema object")
    assert live.read_bytes() == before
    assert not list(tmp_path.glob("live-before-restore-*"))


def test_restore_into_a_new_file_needs_no_force(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    backup = make_backup(tmp_path, make_db, run_cli, "sql")
    result = run_cli("restore", backup, tmp_path / "fresh.db")
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "fresh.db") == snapshot(tmp_path / "new.db")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_damaged_backup_leaves_the_live_database_untouched(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, fmt: str, one_line_error: Callable[..., str]
) -> None:
    backup = make_backup(tmp_path, make_db, run_cli, fmt)
    data = bytearray(backup.read_bytes())
    if fmt == "sqlite":  # scribble over the second half's pages
        data[len(data) // 2 :] = b"\xa5" * (len(data) - len(data) // 2)
    else:  # cut short
        del data[len(data) * 2 // 3 :]
    backup.write_bytes(bytes(data))
    live = make_db(tmp_path, ORIGINAL, name="live.db")
    before = live.read_bytes()
    result = run_cli("restore", backup, live, "--force")
    one_line_error(result, str(backup))
    assert live.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["new.db", backup.name, "live.db"])


def test_a_hostile_dump_cannot_attach_another_file(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    dump = tmp_path / "hostile.sql"
    outside = tmp_path / "outside.db"
    dump.write_text(f"ATTACH '{outside}' AS x;\nCREATE TABLE x.t(a);\n")
    result = run_cli("restore", dump, tmp_path / "fresh.db")
    one_line_error(result, "not authorized")
    assert not outside.exists()


def test_a_pg_custom_archive_or_empty_file_is_refused_on_sqlite(
    tmp_path: Path, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    archive = tmp_path / "x.dump"
    archive.write_bytes(b"PGDMP\x01\x0e\x00")
    one_line_error(run_cli("restore", archive, tmp_path / "a.db"), "PostgreSQL only")
    empty = tmp_path / "empty.sql"
    empty.write_bytes(b"")
    one_line_error(run_cli("restore", empty, tmp_path / "a.db"), "is empty")


def test_restore_into_a_wal_database_with_another_page_size(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    backup = make_backup(tmp_path, make_db, run_cli, "sqlite")
    live = tmp_path / "wal.db"
    conn = sqlite3.connect(live)
    conn.executescript("PRAGMA page_size = 8192; PRAGMA journal_mode = wal; " + ORIGINAL)
    conn.close()
    result = run_cli("restore", backup, live, "--force")
    assert result.returncode == 0, result.stderr
    assert snapshot(live) == snapshot(tmp_path / "new.db")
