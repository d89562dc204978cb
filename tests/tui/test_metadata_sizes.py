"""Tests the Metadata chart ranks tables by bytes on disk (`dbstat`), indexes included."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.app import DbInspectApp
from tui.helpers import SIZE, OpenApp, plain, settle

# Run on the standard library's sqlite3 too: the chart needs its `dbstat` table.
pytestmark = pytest.mark.sqlite_library


def sizes_db(path: Path) -> Path:
    """Tables whose order by bytes differs from their order by rows.

    `many` has the most rows but tiny ones; `blobs` has few, large rows; `indexed` holds
    a little less data than `blobs`, and only its index puts it ahead.
    """
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(
            """
            CREATE TABLE many(id INTEGER PRIMARY KEY, n INTEGER);
            CREATE TABLE blobs(id INTEGER PRIMARY KEY, body BLOB);
            CREATE TABLE indexed(id INTEGER PRIMARY KEY, body TEXT);
            CREATE INDEX indexed_body ON indexed(body);
            """
        )
        conn.executemany("INSERT INTO many(n) VALUES (?)", ((i,) for i in range(5000)))
        conn.executemany(
            "INSERT INTO blobs(body) VALUES (zeroblob(?))", ((20_000,) for _ in range(20))
        )
        conn.executemany(
            "INSERT INTO indexed(body) VALUES (?)", ((f"{i:06}" + "z" * 900,) for i in range(300))
        )
    conn.close()
    return path


def chart_lines(app: DbInspectApp) -> list[str]:
    chart = app.screen.query_one("#metadata-chart")
    return [line.strip() for line in plain(chart).splitlines()]


async def test_chart_ranks_tables_by_bytes_on_disk(workdir: Path, open_app: OpenApp) -> None:
    path = sizes_db(workdir / "sizes.db")
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        title, *bars = chart_lines(app)
        assert title == "Largest tables by size on disk (dbstat)"
        names = [bar.split()[0] for bar in bars]
        # By rows `many` would lead; by bytes it comes last, and the index lifts `indexed`.
        assert names == ["indexed", "blobs", "many"]
        assert bars[0].endswith("KiB")
        assert "rows" not in " ".join(bars)


async def test_demo_chart_lists_the_biggest_table_first(demo_db: Path, open_app: OpenApp) -> None:
    conn = sqlite3.connect(demo_db)
    try:
        # Bytes per table with its indexes, worked out here straight from dbstat.
        rows = conn.execute(
            "SELECT s.tbl_name, sum(d.pgsize) AS bytes FROM dbstat d"
            " JOIN sqlite_schema s ON s.name = d.name"
            " WHERE s.tbl_name IN (SELECT name FROM sqlite_schema WHERE type = 'table')"
            " GROUP BY s.tbl_name ORDER BY bytes DESC, s.tbl_name"
        ).fetchall()
    finally:
        conn.close()
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        title, first, *_ = chart_lines(app)
        assert "size on disk" in title
        assert first.split()[0] == rows[0][0]
