"""`dbinspect repair`: never in place, a backup first, every readable row recovered."""

from __future__ import annotations

import sqlite3 as system_sqlite
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from testkit import RunCli

from dbinspect.sqlite_driver import dbapi as sqlite3

ROWS = 3000


@pytest.fixture
def original(tmp_path: Path) -> Path:
    """A database whose `items` table spans about twenty pages."""
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);"
        "CREATE INDEX items_name ON items (name);"
        "CREATE TABLE notes (body TEXT);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO items SELECT i, 'item number ' || i, i * 7 FROM n;"
        "INSERT INTO notes VALUES ('hello'), ('world');"
        "PRAGMA user_version = 12;"
    )
    conn.commit()
    conn.close()
    return path


def rows(path: Path, table: str) -> dict[int, tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return {r[0]: r[1:] for r in conn.execute(f"SELECT rowid, * FROM {table}")}
    finally:
        conn.close()


def garble_page_of(path: Path, name: str, kind: str) -> int:
    """Write garbage into the middle of one `kind` page of `name`; returns its number."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = [
        r[0]
        for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? ORDER BY path",
            (name, kind),
        )
    ]
    conn.close()
    assert len(pages) > 5
    victim = pages[len(pages) // 2]
    data = bytearray(path.read_bytes())
    start = (victim - 1) * page_size + page_size // 2
    data[start : start + 64] = b"\xde\xad\xbe\xef" * 16
    path.write_bytes(bytes(data))
    return victim


def has_dbpage(module: Any) -> bool:
    """Whether the SQLite behind a DB-API module was built with `sqlite_dbpage`."""
    conn = module.connect(":memory:")
    try:
        conn.execute("SELECT 1 FROM sqlite_dbpage").fetchall()
    except module.Error:
        return False
    finally:
        conn.close()
    return True


def test_flipped_bytes_in_a_table_page_lose_only_that_pages_rows(
    original: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    intact = rows(original, "items")
    garble_page_of(original, "items", "leaf")
    damaged = original.read_bytes()
    out = tmp_path / "fixed.db"
    result = run_cli("repair", original, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "method: salvage" in result.stdout
    assert original.read_bytes() == damaged  # never in place
    saved = rows(out, "items")
    lost = set(intact) - set(saved)
    assert 0 < len(lost) < 200  # one page's worth at most
    assert all(saved[k] == intact[k] for k in saved)  # every recovered row is intact
    if has_dbpage(sqlite3):  # the lost rows are counted from the table's leaf pages
        assert f"items: {len(saved):,} rows recovered, {len(lost):,} lost" in result.stdout
    else:  # the standard library's SQLite may lack sqlite_dbpage: only ranges are given
        assert f"items: {len(saved):,} rows recovered" in result.stdout
        assert "has no sqlite_dbpage" in result.stdout
    ranges = [line.split() for line in result.stdout.splitlines() if "rowids" in line]
    covered = {i for r in ranges for i in range(int(r[1]), int(r[3].rstrip(":")) + 1)}
    assert lost <= covered
    assert "notes: 2 rows recovered, none lost" in result.stdout
    conn = sqlite3.connect(out)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA user_version").fetchone() == (12,)
    assert conn.execute("SELECT name FROM sqlite_schema WHERE type = 'index'").fetchall() == [
        ("items_name",)
    ]
    conn.close()
    [backup] = [p for p in tmp_path.iterdir() if p.suffix == ".sqlite"]
    assert f"backup: {backup}" in result.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.stat().st_size == len(damaged)


def test_a_damaged_index_is_rebuilt_with_every_row(
    original: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    intact = rows(original, "items")
    garble_page_of(original, "items_name", "leaf")
    out = tmp_path / "fixed.db"
    result = run_cli("repair", original, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "method: rebuild (VACUUM INTO, indexes built again, REINDEX)" in result.stdout
    assert rows(out, "items") == intact
    assert "passes integrity_check" in result.stdout


def test_the_system_sqlite_fallback_says_what_it_lacks(
    original: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    garble_page_of(original, "items", "leaf")
    conn = system_sqlite.connect(":memory:")
    try:
        conn.execute("SELECT 1 FROM sqlite_dbpage").fetchall()
        has_dbpage = True
    except system_sqlite.Error:
        has_dbpage = False
    conn.close()
    result = run_cli(
        "repair", original, "-o", tmp_path / "f.db", env={"DBINSPECT_SQLITE": "system"}
    )
    assert result.returncode == 0, result.stderr
    assert ("has no sqlite_dbpage" in result.stdout) is not has_dbpage
    assert "rows recovered" in result.stdout


def test_refusals(original: Path, run_cli: RunCli, one_line_error: Callable[..., str]) -> None:
    one_line_error(run_cli("repair", original, "-o", original), "never overwrites")
    one_line_error(run_cli("repair", "postgres://u@127.0.0.1:1/x"), "repair works on SQLite")
