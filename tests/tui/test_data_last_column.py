"""The Data pane's last column shows whole beside the vertical scrollbar, at 160 columns.

The scrollbar is drawn over a line's last cells: the grid must lay its lines out, and
scroll to a column, in the width left beside it. Read from what the screen shows.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data import DataPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.chinook import copy_chinook
from tui.helpers import OpenApp, settle

WIDE = (160, 30)


def screen_lines(app: DbInspectApp) -> list[str]:
    """What the screen shows, line by line, as plain text."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(update)
    return capture.get().splitlines()


async def test_the_last_column_is_whole_beside_the_scrollbar(
    workdir: Path, open_app: OpenApp
) -> None:
    path = copy_chinook(workdir)
    conn = sqlite3.connect(path)
    totals = [str(total) for (total,) in conn.execute("SELECT Total FROM Invoice ORDER BY rowid")]
    conn.close()
    async with open_app(path) as app, app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        assert app.screen.query_one(SchemaTree).select_object("Invoice")
        await pilot.press("d")
        await settle(pilot)
        grid = app.screen.query_one(DataPane).grid
        assert grid.columns[-1] == "Total"
        assert grid.virtual_size.width > grid.size.width  # it scrolls sideways
        await pilot.press("end", *["right"] * len(grid.columns))
        await settle(pilot)
        assert grid.cursor_col == len(grid.columns) - 1
        region = grid.scrollable_content_region
        assert region.width < grid.size.width  # a vertical scrollbar takes the rest
        lines = [
            line[region.x : region.right]
            for line in screen_lines(app)[region.y : region.y + region.height]
        ]
        assert lines[0].split()[-1] == "Total"
        first, last = grid.viewport
        assert last - first == len(lines) - 1 > 10
        # Each row's Total, every digit of it, ends its line left of the scrollbar.
        assert [line.split()[-1] for line in lines[1:]] == totals[first:last]
        assert "1.98" in totals[first:last]
