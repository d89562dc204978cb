"""Pilot tests of the Data pane: paging keys, kinds of tables, values, detail, copy, FK, filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import DataPane, DetailScreen
from dbinspect.tui.data.format import cell_text
from tui.data_fixtures import (
    BIG_CELL,
    ORDERS,
    PaneApp,
    build_shop,
    screen_lines,
    settle,
)
from tui.helpers import palette_highlights, wait_until

SIZE = (120, 30)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return build_shop(tmp_path / "shop.db")


def expected(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_rows_show_at_once_with_exact_count(shop: Path) -> None:
    app = PaneApp(shop, "users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        lines = screen_lines(pane)
        assert lines[0].split()[:3] == ["id", "name", "email"]
        assert "user1" in lines[1] and "u1@example.com" in lines[1]
        assert pane.total == 50 and pane.exact
        assert "50 rows" in str(app.query_one("#data-count").render())


async def test_line_page_and_end_keys(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        grid = pane.grid
        await pilot.press("j", "down")
        assert grid.cursor_row == 2
        await pilot.press("k")
        assert grid.cursor_row == 1
        await pilot.press("pagedown")
        await settle(pilot)
        assert grid.cursor_row == 1 + grid.data_height
        await pilot.press("G")
        await settle(pilot)
        assert grid.cursor_row == ORDERS - 1
        assert screen_lines(pane)[-1].split()[0] == str(ORDERS)
        assert pane.grid.cursor_cached_row is not None
        assert pane.grid.cursor_cached_row.key == (ORDERS,)
        await pilot.press("g")
        await settle(pilot)
        assert grid.cursor_row == 0
        assert screen_lines(pane)[1].split()[0] == "1"
        await pilot.press("end")
        await settle(pilot)
        assert screen_lines(pane)[-1].split()[0] == str(ORDERS)
        await pilot.press("home")
        await settle(pilot)
        assert screen_lines(pane)[1].split()[0] == "1"


async def test_scrollbar_jump_to_the_middle(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.scroll_to(y=300, animate=False)
        await settle(pilot)
        assert int(pane.grid.scroll_y) == 300
        assert screen_lines(pane)[1].split()[0] == "301"
        pane.grid.scroll_to(y=120, animate=False)
        await settle(pilot)
        assert screen_lines(pane)[1].split()[0] == "121"


@pytest.mark.parametrize(
    ("table", "order_sql"),
    [
        ("kv", "SELECT k FROM kv ORDER BY k"),
        ("pairs", "SELECT a, b FROM pairs ORDER BY a, b"),
        ("lines", "SELECT order_id, pos FROM lines ORDER BY rowid"),
        ("big_orders", "SELECT id FROM big_orders"),
    ],
)
async def test_other_kinds_of_tables_page_end_to_end(
    shop: Path, table: str, order_sql: str
) -> None:
    want = expected(shop, order_sql)
    app = PaneApp(shop, table)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        assert pane.total == len(want)
        await pilot.press("end")
        await settle(pilot)
        last = [str(v) for v in want[-1]]
        assert screen_lines(pane)[-1].split()[: len(last)] == last
        await pilot.press("home")
        await settle(pilot)
        first_row = [str(v) for v in want[0]]
        assert screen_lines(pane)[1].split()[: len(first_row)] == first_row
        # Page by page to the end: the rows on screen follow the table's order.
        grid = pane.grid
        while True:
            first, last = grid.viewport
            rows = [pane.window.get(i) for i in range(first, last)]
            assert [r.values[: len(first_row)] for r in rows if r] == [
                tuple(w) for w in want[first:last]
            ]
            assert all(rows)
            if last >= len(want):
                break
            await pilot.press("pagedown")
            await settle(pilot)


async def test_values_are_distinct_and_never_break_the_grid(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        lines = screen_lines(pane)
        width = pane.grid.view_width  # the scrollbar takes the rest
        assert all(len(line) == width for line in lines)
        note_x = lines[0].index("note")
        assert lines[2][note_x:].startswith("NULL")
        assert lines[3][note_x:].startswith('""')
        assert lines[4][note_x:].startswith("first line↵second line")
        texts = {cell_text(v).markup for v in (None, "", "NULL", 1, 1.5, "a\nb", b"\x00")}
        assert len(texts) == 7
        for line in lines:
            assert "\x1b" not in line and "\u202e" not in line
        assert "[/]" in lines[5]
        assert "[@click=app.quit]x" in lines[6]
        assert "\\x1b]52;c;" in lines[8]
        await pilot.press(*["down"] * 19)
        await settle(pilot)
        big = screen_lines(pane)[20]
        assert len(big) == width
        assert "[1,000,000 chars]" in big
        row = pane.grid.cursor_cached_row
        assert row is not None and row.truncated == {2: len(BIG_CELL)}
        assert len(str(row.values[2])) <= 256
        assert app.is_running


async def test_enter_opens_pretty_json_and_blob_hex(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        shown = str(app.screen.query_one("#detail-value").render())
        assert '"nested": {\n    "ok": true' in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        pane.grid.move_cursor(9, 3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        title = str(app.screen.query_one("#detail-title").render())
        assert "blob" in title and "40 bytes" in title
        dump = str(app.screen.query_one("#detail-value").render())
        assert dump.startswith("00000000: 0304 0506")
        await pilot.press("escape")
        pane.grid.move_cursor(19, 2)
        await pilot.press("enter")
        await settle(pilot)
        assert "1,000,000 characters" in str(app.screen.query_one("#detail-title").render())


async def test_copy_cell_row_and_json(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(19, 2)
        await pilot.press("c")
        await settle(pilot)
        assert app.clipboard == BIG_CELL
        pane.grid.move_cursor(3, 2)
        await pilot.press("C")
        await settle(pilot)
        header, row = app.clipboard.splitlines()
        assert header.split("\t") == ["id", "user_id", "note", "data", "amount", "payload"]
        assert row.split("\t")[:3] == ["4", "5", "first line\\nsecond line"]
        pane.action_copy_row_json()
        await settle(pilot)
        record = json.loads(app.clipboard)
        assert record["id"] == 4 and record["note"] == "first line\nsecond line"
        assert record["data"] is None


async def test_palette_offers_copy_row_as_json(shop: Path) -> None:
    app = PaneApp(shop, "users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"copy row as json")
        await pilot.pause()
        await wait_until(pilot, lambda: palette_highlights(app, "copy row as JSON"), "found")
        await pilot.press("enter")
        await settle(pilot)
        assert json.loads(app.clipboard) == {"id": 1, "name": "user1", "email": "u1@example.com"}


async def test_follow_foreign_key_and_back(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(29, 1)
        await settle(pilot)
        row = pane.grid.cursor_cached_row
        assert row is not None
        user_id = row.values[1]
        await pilot.press("f")
        await settle(pilot)
        assert pane.table == "users"
        target = pane.grid.cursor_cached_row
        assert target is not None and target.values[0] == user_id
        assert pane.grid.cursor_row == int(str(user_id)) - 1
        await pilot.press("b")
        await settle(pilot)
        assert pane.table == "orders"
        back = pane.grid.cursor_cached_row
        assert back is not None and back.key == (30,)
        assert pane.grid.cursor_col == 1


async def test_follow_composite_key_from_rowid_table_with_composite_pk(shop: Path) -> None:
    app = PaneApp(shop, "lines")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(40, 0)
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert pane.table == "orders"
        row = pane.grid.cursor_cached_row
        assert row is not None and row.values[0] == 11


async def test_filter_by_value_and_null(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 1)
        await pilot.press("slash", *"7", "enter")
        await settle(pilot)
        want = expected(shop, "SELECT id FROM orders WHERE user_id = 7 ORDER BY id")
        assert pane.total == len(want) and pane.exact
        assert [r.values[0] for r in pane.window.rows] == [w[0] for w in want]
        assert "where user_id = 7" in str(app.query_one("#data-query").render())
        await pilot.press("slash", *"null", "enter")  # combines: user 7 and NULL
        await settle(pilot)
        assert pane.window.rows == [] and pane.total == 0
        await pilot.press("backspace")  # drops the filter added last
        await settle(pilot)
        assert [r.values[0] for r in pane.window.rows] == [w[0] for w in want]
        await pilot.press("F", "slash", *"null", "enter")  # clears all, then filters again
        await settle(pilot)
        assert [r.values[0] for r in pane.window.rows] == [11]
        await pilot.press("slash", "enter")
        await settle(pilot)
        assert pane.total == ORDERS


async def test_sort_cycles_ascending_descending_off(shop: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 1)
        await pilot.press("s")
        await settle(pilot)
        want = expected(shop, "SELECT id FROM orders ORDER BY user_id, id")
        assert [r.values[0] for r in pane.window.rows[:50]] == [w[0] for w in want[:50]]
        assert "user_id ▲" in screen_lines(pane)[0]
        await pilot.press("end")
        await settle(pilot)
        assert pane.grid.cursor_cached_row is not None
        assert pane.grid.cursor_cached_row.values[0] == want[-1][0]
        # Line by line upwards from the end crosses page boundaries in sorted order.
        for _ in range(9):
            await pilot.press("pageup")
            await settle(pilot)
        row = pane.grid.cursor_cached_row
        step = pane.grid.data_height
        assert row is not None and row.values[0] == want[-1 - 9 * step][0]
        await pilot.press("s")
        await settle(pilot)
        desc = expected(shop, "SELECT id FROM orders ORDER BY user_id DESC, id DESC")
        assert [r.values[0] for r in pane.window.rows[:50]] == [w[0] for w in desc[:50]]
        await pilot.press("s")
        await settle(pilot)
        assert pane.row_query.sort_column is None
        assert pane.window.rows[0].values[0] == 1
