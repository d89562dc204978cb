"""The fallback Data tab widget: first rows of a table, every cell escaped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from dbinspect.tui.panes.data_placeholder import DataPlaceholder, make_data_pane
from dbinspect.url import parse_url
from tui.helpers import SIZE, settle, table_texts


class PlaceholderApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DataPlaceholder(id="data-pane")


async def test_first_rows_are_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / "rows.db"
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE "[/]t" ("[b]c" TEXT, n INTEGER, b BLOB)')
    conn.executemany(
        'INSERT INTO "[/]t" VALUES (?, ?, ?)',
        [("\x1b]52;c;aGk=\x07[@click=app.quit]", i, b"\x00\x01") for i in range(150)]
        + [(None, None, None)],
    )
    conn.commit()
    conn.close()
    app = PlaceholderApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(DataPlaceholder).show(parse_url(str(path)), "[/]t")
        await settle(pilot)
        rows = table_texts(app.query_one(DataTable))
        assert len(rows) == 100
        assert rows[0] == ["\\x1b]52;c;aGk=\\x07[@click=app.quit]", "0", "<2 bytes> 00 01"]
        assert app.is_running


def test_the_data_tab_gets_the_scalable_pane_when_it_exists() -> None:
    pane = make_data_pane()
    assert pane.id == "data-pane"
    assert callable(getattr(pane, "show", None))
