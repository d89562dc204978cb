"""The Data pane follows other processes' writes: counts, new, changed and deleted rows.

Each test waits for what it expects to appear (the watcher polls about once a second),
never for a fixed time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data import DataPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.helpers import SIZE, OpenApp, main_screen, settle


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app resolves the database's name against the working directory."""
    monkeypatch.chdir(tmp_path)


def make_tags(folder: Path, rows: int = 2) -> Path:
    path = folder / "tags.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tags(id INTEGER PRIMARY KEY, name TEXT, score INTEGER)")
    conn.executemany(
        "INSERT INTO tags(name, score) VALUES (?, ?)",
        [(f"tag{i:03}", i % 7) for i in range(rows)],
    )
    conn.commit()
    conn.close()
    return path


def write_elsewhere(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql)
    conn.commit()
    conn.close()


async def until(pilot: Pilot[None], condition: Callable[[], bool], limit: float = 15) -> None:
    """Wait until `condition()` holds (checked between frames), or fail after `limit`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the pane never showed the other process's write")
        await pilot.pause(0.05)


async def open_table(app: DbInspectApp, pilot: Pilot[None], table: str) -> DataPane:
    await settle(pilot)
    screen = main_screen(app)
    assert screen.query_one(SchemaTree).select_object(table)
    await pilot.press("d")
    await settle(pilot)
    pane = screen.query_one("#data-pane", DataPane)
    assert pane.table == table
    return pane


def names(pane: DataPane) -> list[object]:
    return [row.values[1] for row in pane.window.rows]


async def test_an_insert_elsewhere_shows_in_the_data_pane(
    tmp_path: Path, open_app: OpenApp
) -> None:
    path = make_tags(tmp_path)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        assert pane.total == 2 and names(pane) == ["tag000", "tag001"]
        await asyncio.to_thread(write_elsewhere, path, "INSERT INTO tags(name) VALUES ('gamma')")
        await until(pilot, lambda: pane.total == 3 and "gamma" in names(pane))
        assert pane.exact


async def test_updates_and_deletes_in_view_show_and_the_filter_and_sort_stay(
    tmp_path: Path, open_app: OpenApp
) -> None:
    path = make_tags(tmp_path, rows=300)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        grid = pane.grid
        grid.move_cursor(0, 2)  # the score column
        await pilot.press("slash")
        for key in "3":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("s")  # sort the filtered rows by score (all 3), then key
        await settle(pilot)
        await pilot.press("s")  # descending
        await settle(pilot)
        query = pane.row_query
        assert [f.column for f in query.filters] == ["score"] and query.sort_column == "score"
        assert query.descending
        before = pane.total
        first = names(pane)[0]
        await asyncio.to_thread(
            write_elsewhere, path, f"UPDATE tags SET name = 'renamed' WHERE name = '{first}'"
        )
        await until(pilot, lambda: names(pane)[:1] == ["renamed"])
        await asyncio.to_thread(write_elsewhere, path, "DELETE FROM tags WHERE name = 'renamed'")
        await until(pilot, lambda: "renamed" not in names(pane) and pane.total == before - 1)
        assert pane.row_query == query  # the user's filter and sort are kept
        assert all(row.values[2] == 3 for row in pane.window.rows)


async def test_the_place_is_kept_deep_in_a_table(tmp_path: Path, open_app: OpenApp) -> None:
    path = make_tags(tmp_path, rows=5_000)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        grid = pane.grid
        grid.move_cursor(2_500, 1)
        grid.scroll_to(y=2_490, animate=False, immediate=True)
        await settle(pilot)
        row = pane.window.get(grid.cursor_row)
        assert row is not None
        key = row.key
        await asyncio.to_thread(write_elsewhere, path, "INSERT INTO tags(name) VALUES ('new')")
        await until(pilot, lambda: pane.total == 5_001)
        await settle(pilot)
        here = pane.window.get(grid.cursor_row)
        assert here is not None and here.key == key  # the cursor stays on its row
        assert grid.cursor_col == 1


async def test_the_cursor_keeps_its_row_when_rows_above_it_go(
    tmp_path: Path, open_app: OpenApp
) -> None:
    path = make_tags(tmp_path, rows=50)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        grid = pane.grid
        grid.move_cursor(10, 1)
        await settle(pilot)
        before = pane.window.get(grid.cursor_row)
        assert before is not None and before.values[1] == "tag010"
        await asyncio.to_thread(write_elsewhere, path, "DELETE FROM tags WHERE id IN (3, 4, 5)")
        await until(pilot, lambda: pane.total == 47)
        await settle(pilot)
        here = pane.window.get(grid.cursor_row)
        assert here is not None and here.values[1] == "tag010"


async def test_sparse_rowids_do_not_move_the_cursor(tmp_path: Path, open_app: OpenApp) -> None:
    path = make_tags(tmp_path, rows=3_000)
    write_elsewhere(path, "INSERT INTO tags(id, name) VALUES (1000000000, 'far')")
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        await pilot.press("G")
        await settle(pilot)
        for _ in range(5):
            await pilot.press("k")
        await settle(pilot)
        grid = pane.grid
        before = pane.window.get(grid.cursor_row)
        assert before is not None
        generation = pane._generation
        await asyncio.to_thread(write_elsewhere, path, "UPDATE tags SET score = 99 WHERE id = 150")
        # The change is far from view: wait for the pane to have read its rows again.
        await until(pilot, lambda: pane._generation > generation)
        await settle(pilot)
        here = pane.window.get(grid.cursor_row)
        assert here is not None and here.key == before.key


async def test_a_column_added_elsewhere_shows(tmp_path: Path, open_app: OpenApp) -> None:
    path = make_tags(tmp_path)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        assert pane.grid.columns == ("id", "name", "score")
        await asyncio.to_thread(
            write_elsewhere, path, "ALTER TABLE tags ADD COLUMN extra TEXT DEFAULT 'EXTRA'"
        )
        await until(pilot, lambda: pane.grid.columns == ("id", "name", "score", "extra"))
        assert all(row.values[3] == "EXTRA" for row in pane.window.rows)


async def test_a_sorted_and_filtered_column_dropped_elsewhere_leaves_the_rest(
    tmp_path: Path, open_app: OpenApp
) -> None:
    path = make_tags(tmp_path, rows=30)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        pane.grid.move_cursor(0, 2)  # the score column
        for key in ("slash", "3", "enter"):
            await pilot.press(key)
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert pane.row_query.sort_column == "score" and pane.total < 30
        await asyncio.to_thread(write_elsewhere, path, "ALTER TABLE tags DROP COLUMN score")
        await until(pilot, lambda: pane.grid.columns == ("id", "name") and pane.total == 30)
        assert pane.row_query.plain  # the sort and the filter went with their column
        assert names(pane)[:2] == ["tag000", "tag001"]
        # A notification is a message of its own: it may be handled after the new page.
        await until(
            pilot,
            lambda: any(
                "No longer sorted or filtered by score" in str(n.message)
                for n in app._notifications
            ),
        )


async def test_the_empty_pane_says_how_to_fill_it(tmp_path: Path, open_app: OpenApp) -> None:
    path = make_tags(tmp_path)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("4")
        title = main_screen(app).query_one("#data-title")
        assert "pick one in Schema (3), then press Enter or d" in str(title.render())


async def test_a_slow_view_is_not_read_again_at_every_poll(
    tmp_path: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server busy elsewhere moves the change poll every second; a view that takes its
    # time to read (a slow filter) must not be read again, from scratch, each time.
    path = make_tags(tmp_path, rows=30)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_table(app, pilot, "tags")
        started: list[float] = []
        finished: list[float] = []
        loop = asyncio.get_running_loop()

        async def slow_check(first: int, last: int) -> bool:
            started.append(loop.time())
            await asyncio.sleep(0.3)
            finished.append(loop.time())
            return False

        monkeypatch.setattr(pane.browser, "rows_in_view_changed", slow_check)
        for _ in range(20):  # a poll every 0.1 s for 2 s
            pane.check_rows()
            await pilot.pause(0.1)
        assert finished, "no check ran"
        assert len(started) == len(finished) or len(started) == len(finished) + 1
        assert len(started) <= 3, started  # each ran to its end, then rested 4x its time
