"""Pilot tests of the Data pane on 2,000-column objects and on views that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbinspect.backends import quote_identifier
from dbinspect.browse.window import CACHE_CELLS
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import DataPane, DetailScreen
from dbinspect.url import parse_url
from tui.data_fixtures import PaneApp, screen_lines, settle

SIZE = (120, 30)
WIDE = 2000
"""SQLite's default limit on the columns of a table or a result set."""
ROWS = 300
LAST = f"c{WIDE - 1}"


def _values(row: int) -> list[object]:
    values: list[object] = [row * c if c % 5 == 0 else f"r{row}c{c}" for c in range(1, WIDE)]
    values[-1] = f"last{row}" if row != 7 else "z" * 5000
    return values


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A rowid table, a WITHOUT ROWID table and a view, each of 2,000 columns."""
    path = tmp_path_factory.mktemp("wide") / "wide.db"
    conn = sqlite3.connect(path)
    rest = ", ".join(f"c{i}" for i in range(1, WIDE))
    marks = ", ".join("?" for _ in range(WIDE))
    conn.execute(f"CREATE TABLE wide(id INTEGER PRIMARY KEY, {rest})")
    conn.execute(f"CREATE TABLE wide_wr(id INTEGER PRIMARY KEY, {rest}) WITHOUT ROWID")
    conn.execute("CREATE VIEW wide_v AS SELECT * FROM wide")
    for table in ("wide", "wide_wr"):
        conn.executemany(
            f"INSERT INTO {table} VALUES ({marks})",
            [[row, *_values(row)] for row in range(1, ROWS + 1)],
        )
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("table", ["wide", "wide_wr", "wide_v"])
async def test_a_2000_column_object_browses_in_bounded_memory(wide: Path, table: str) -> None:
    app = PaneApp(wide, table)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        grid = pane.grid
        assert str(app.query_one("#data-title").render()) == table
        assert len(grid.columns) == WIDE
        lines = screen_lines(pane)
        assert lines[0].split()[:3] == ["id", "c1", "c2"]
        assert lines[1].split()[:3] == ["1", "r1c1", "r1c2"]
        # Page to the end and back: every row on screen in order, never a gap.
        while grid.viewport[1] < ROWS:
            await pilot.press("pagedown")
            await settle(pilot)
            first, last = grid.viewport
            rows = [pane.window.get(i) for i in range(first, last)]
            assert [r.values[0] if r else None for r in rows] == list(range(first + 1, last + 1))
        await pilot.press("home")
        await settle(pilot)
        assert screen_lines(pane)[1].split()[0] == "1"
        await pilot.press("end")
        await settle(pilot)
        assert grid.cursor_row == ROWS - 1
        assert screen_lines(pane)[-1].split()[0] == str(ROWS)
        # The last column, on screen, in the detail view and copied.
        grid.move_cursor(ROWS - 1, WIDE - 1)
        await settle(pilot)
        assert LAST in screen_lines(pane)[0]
        assert f"last{ROWS}" in screen_lines(pane)[-1]
        await pilot.press("c")
        await settle(pilot)
        assert app.clipboard == f"last{ROWS}"
        await pilot.press("C")
        await settle(pilot)
        header, row = app.clipboard.splitlines()
        assert len(header.split("\t")) == WIDE and row.split("\t")[-1] == f"last{ROWS}"
        grid.move_cursor(6, WIDE - 1)
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        assert "5,000 characters" in str(app.screen.query_one("#detail-title").render())
        await pilot.press("escape")
        await settle(pilot)
        # A wide row holds many cells: the window holds fewer rows, about a fixed number of
        # cells, where a narrow table holds 1,000 rows.
        assert pane.window.max_rows * WIDE <= CACHE_CELLS
        assert pane.window.peak * WIDE <= 2 * CACHE_CELLS
        assert app.is_running


BROKEN = {
    "calls_evil": (
        "CREATE VIEW calls_evil AS SELECT evil(a) AS x FROM t",
        "no such function: evil",
    ),
    "over_gone": (
        "CREATE TABLE gone(a); CREATE VIEW over_gone AS SELECT a FROM gone; DROP TABLE gone",
        "no such table: main.gone",
    ),
}


@pytest.mark.parametrize("view", list(BROKEN))
async def test_a_broken_view_shows_sqlites_own_error(tmp_path: Path, view: str) -> None:
    script, own = BROKEN[view]
    path = tmp_path / "broken.db"
    conn = sqlite3.connect(path)
    conn.executescript(f"CREATE TABLE t(a); INSERT INTO t VALUES (1); {script};")
    conn.close()
    app = PaneApp(path, view)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert any(own in message for message in said), said
        assert not any("syntax error" in message for message in said), said
        pane = app.query_one(DataPane)
        assert str(app.query_one("#data-title").render()) == view
        assert pane.grid.columns == () and pane.total == 0
        assert app.is_running


HOSTILE = ['"', "]", "`", "a\nb", "x" * 10_000, "[/]", "[@click=app.quit]x"]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
async def test_views_with_hostile_names_page_in_the_pane(tmp_path: Path, name: str) -> None:
    path = tmp_path / "names.db"
    conn = sqlite3.connect(path)
    view, column = quote_identifier(name), quote_identifier(name + "!")
    conn.executescript(
        f"""
        CREATE TABLE t(a, b);
        CREATE VIEW {view}({column}, "plain") AS SELECT a, b FROM t;
        CREATE VIEW {quote_identifier(name + " broken")} AS SELECT evil(a) FROM t;
        """
    )
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(1, 501)])
    conn.commit()
    conn.close()
    app = PaneApp(path, name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        assert pane.grid.columns == (name + "!", "plain")
        assert screen_lines(pane)[1].split()[:2] == ["1", "v1"]
        await pilot.press("end")
        await settle(pilot)
        assert screen_lines(pane)[-1].split()[:2] == ["500", "v500"]
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert screen_lines(pane)[1].split()[:2] == ["500", "v500"]
        pane.show(parse_url(str(path)), name + " broken")
        await settle(pilot)
        said = [n.message for n in app._notifications]
        assert said and "no such function: evil" in said[-1]
        assert not any("syntax error" in message for message in said), said
        assert app.is_running
