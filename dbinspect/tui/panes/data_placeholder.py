"""Provides the Data tab's widget: the scalable data pane when present, else a first-rows view."""

from __future__ import annotations

import importlib
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from dbinspect.backends import Backend, open_backend
from dbinspect.errors import DbInspectError
from dbinspect.models import RowPage
from dbinspect.tui.sanitize import safe_text
from dbinspect.url import DatabaseUrl

FIRST_ROWS = 100
CELL_CHARS = 80


class DataPlaceholder(Vertical):
    """The first rows of one table or view, on a connection of its own."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]

    class RowsLoaded(Message):
        """The first rows were read."""

        def __init__(self, table: str, page: RowPage) -> None:
            super().__init__()
            self.table = table
            self.page = page

    class RowsFailed(Message):
        """The rows could not be read."""

        def __init__(self, table: str, error: DbInspectError) -> None:
            super().__init__()
            self.table = table
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._backend: Backend | None = None
        self._url: DatabaseUrl | None = None
        self.table: str | None = None
        """The table or view shown."""

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Select a table in Schema (3) and press enter or d.", style="dim"),
            id="data-title",
        )
        yield DataTable(id="data-table", zebra_stripes=True)

    def show(self, url: DatabaseUrl, table: str) -> None:
        """Show the first rows of `table`."""
        self.table = table
        self.query_one("#data-title", Static).update(Text("Loading ") + safe_text(table))
        self.load_rows(url, table)

    def action_cursor(self, direction: str) -> None:
        table = self.query_one(DataTable)
        if direction == "down":
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    @work(exclusive=True, group="data")
    async def load_rows(self, url: DatabaseUrl, table: str) -> None:
        """Read the first rows of `table` on this pane's own connection."""
        try:
            if self._backend is None or self._url != url:
                if self._backend is not None:
                    await self._backend.aclose()
                    self._backend = None
                self._backend = await open_backend(url)
                self._url = url
            page = await self._backend.fetch_rows(table, limit=FIRST_ROWS)
        except DbInspectError as error:
            self.post_message(self.RowsFailed(table, error))
        else:
            self.post_message(self.RowsLoaded(table, page))

    def on_data_placeholder_rows_loaded(self, message: RowsLoaded) -> None:
        grid = self.query_one(DataTable)
        grid.clear(columns=True)
        for name in message.page.columns:
            grid.add_column(safe_text(name, max_chars=40))
        grid.add_rows(
            [safe_text(value, max_chars=CELL_CHARS) for value in row] for row in message.page.rows
        )
        count = len(message.page.rows)
        title = Text("Table ", style="bold") + safe_text(message.table, style="bold cyan")
        title.append(f"  first {count} rows" if count == FIRST_ROWS else f"  {count} rows")
        self.query_one("#data-title", Static).update(title)

    def on_data_placeholder_rows_failed(self, message: RowsFailed) -> None:
        self.query_one(DataTable).clear(columns=True)
        self.query_one("#data-title", Static).update(
            Text("Cannot read ", style="red") + safe_text(message.error.one_line())
        )

    async def on_unmount(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None

    def reset(self) -> None:
        """Forget the shown rows (the database was replaced)."""
        self.query_one(DataTable).clear(columns=True)


def make_data_pane() -> Widget:
    """The scalable `DataPane` of `dbinspect.tui.data` when it exists, else the placeholder."""
    try:
        module = importlib.import_module("dbinspect.tui.data")
    except ImportError:
        module = None
    pane_class = getattr(module, "DataPane", None)
    if isinstance(pane_class, type) and issubclass(pane_class, Widget):
        return pane_class(id="data-pane")
    return DataPlaceholder(id="data-pane")
