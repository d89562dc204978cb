"""Tests bytes on disk per table from `dbstat`: totals, ranking, indexes and cancelling."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dbinspect.backends import SqliteBackend, open_backend
from dbinspect.backends.sqlite_sizes import fold_indexes
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

SCHEMA = """
CREATE TABLE big(id INTEGER PRIMARY KEY, body TEXT);
CREATE TABLE small(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE);
CREATE TABLE tagged(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
CREATE INDEX tagged_v ON tagged(v);
CREATE VIEW big_ids AS SELECT id FROM big;
CREATE TABLE scratch(x);
"""


def build(path: Path, big_rows: int = 3000) -> Path:
    """A file with a big table, an indexed one, a UNIQUE autoindex and free pages."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO big(body) VALUES (?)",
            ((f"row {i} " + "x" * 300,) for i in range(big_rows)),
        )
        conn.executemany("INSERT INTO small(name) VALUES (?)", ((f"n{i}",) for i in range(50)))
        conn.executemany(
            "INSERT INTO tagged VALUES (?, ?)", ((f"key-{i:06}" * 4, i) for i in range(4000))
        )
        conn.executemany("INSERT INTO scratch VALUES (?)", (("y" * 500,) for _ in range(200)))
    # Dropping a filled table leaves free pages, which belong to no table.
    conn.execute("DROP TABLE scratch")
    conn.commit()
    conn.close()
    return path


def raw_btrees(path: Path) -> dict[str, int]:
    """Bytes per b-tree as dbstat reports them, read without dbinspect."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        return {name: size for name, size in rows}
    finally:
        conn.close()


def pragma(path: Path, name: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def sized_db(tmp_path: Path) -> Path:
    return build(tmp_path / "sized.db")


@pytest.fixture
async def backend(sized_db: Path) -> AsyncIterator[SqliteBackend]:
    opened = await open_backend(parse_url(str(sized_db)))
    assert isinstance(opened, SqliteBackend)
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_sizes_add_up_to_the_used_pages(sized_db: Path, backend: SqliteBackend) -> None:
    sizes = await backend.table_sizes()
    assert sizes is not None
    page_size = pragma(sized_db, "page_size")
    free = pragma(sized_db, "freelist_count")
    assert free > 0  # the dropped table's pages are free: they must not be counted
    schema_bytes = raw_btrees(sized_db)["sqlite_schema"]
    used = pragma(sized_db, "page_count") * page_size - free * page_size - schema_bytes
    assert sum(sizes.values()) == used
    assert all(size % page_size == 0 and size > 0 for size in sizes.values())


async def test_tables_only_and_the_biggest_first(backend: SqliteBackend) -> None:
    sizes = await backend.table_sizes()
    assert sizes is not None
    # sqlite_sequence (AUTOINCREMENT) is a table on disk too; views and indexes are not.
    assert set(sizes) == {"big", "small", "tagged", "sqlite_sequence"}
    ranked = sorted(sizes, key=lambda name: -sizes[name])
    assert ranked[0] == "big"
    assert sizes["big"] > 3000 * 300  # at least the text it holds


async def test_index_pages_count_toward_their_table(sized_db: Path, backend: SqliteBackend) -> None:
    sizes = await backend.table_sizes()
    assert sizes is not None
    raw = raw_btrees(sized_db)
    assert raw["tagged_v"] > 0
    assert sizes["tagged"] == raw["tagged"] + raw["tagged_v"]
    # The UNIQUE constraint's automatic index is folded in as well.
    assert sizes["small"] == raw["small"] + raw["sqlite_autoindex_small_1"]
    assert sizes["big"] == raw["big"]


async def test_an_empty_database_has_no_tables(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")  # writes the header page, and nothing else
    conn.close()
    backend = await open_backend(parse_url(str(path)))
    try:
        assert await backend.table_sizes() == {}
    finally:
        await backend.aclose()


class HeldScan:
    """A progress handler that counts a connection's steps (in units of STEP) and, once
    armed, holds the statement running at its first look until `resume` is set."""

    STEP = 100
    """SQLite instructions between looks."""

    def __init__(self) -> None:
        self.looks = 0
        self.armed = False
        self.holding = threading.Event()
        self.resume = threading.Event()

    def __call__(self) -> int:
        self.looks += 1
        if self.armed and not self.holding.is_set():
            self.holding.set()
            self.resume.wait(30)
        return 0  # go on: only the backend's own interrupt may stop the statement


async def test_cancelling_interrupts_the_scan_and_leaves_the_connection_usable(
    tmp_path: Path,
) -> None:
    path = build(tmp_path / "larger.db", big_rows=60_000)
    backend = await open_backend(parse_url(str(path)))
    assert isinstance(backend, SqliteBackend)
    scan = HeldScan()
    try:
        await backend.schema()  # cached, so the cancel lands on the dbstat scan itself
        await backend._conn.set_progress_handler(scan, HeldScan.STEP)
        expected = await backend.table_sizes()
        whole_scan, scan.looks = scan.looks, 0
        scan.armed = True
        task = asyncio.create_task(backend.table_sizes())
        assert await asyncio.to_thread(scan.holding.wait, 30)  # the scan is running
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        scan.resume.set()
        # The scan was interrupted rather than left running to its end: the next queries
        # answer, correctly, with no stale interrupt landing on them. How soon they answer
        # is measured by benchmarks/bench_sizes.py.
        assert await backend.change_marker()
        assert scan.looks < whole_scan / 10, (scan.looks, whole_scan)
        assert await backend.table_sizes() == expected
    finally:
        scan.resume.set()
        await backend.aclose()


def test_fold_indexes_keeps_unowned_btrees() -> None:
    folded = fold_indexes({"t": 4096, "ix": 8192, "sqlite_schema": 4096}, {"ix": "t"})
    assert folded == {"t": 12288, "sqlite_schema": 4096}
