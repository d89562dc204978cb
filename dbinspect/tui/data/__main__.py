"""Runs the Data pane alone on one table: `python -m dbinspect.tui.data DB TABLE`."""

from __future__ import annotations

import sys
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer

from dbinspect.tui.data import DataCommands, DataPane
from dbinspect.url import parse_url


class DataApp(App[None]):
    """A minimal app holding only the Data pane (for benchmarks and trying it out)."""

    COMMANDS = App.COMMANDS | {DataCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q,q", "quit", "Quit"),
        Binding("r", "reopen", "Reopen table"),
    ]

    def __init__(self, database: str, table: str) -> None:
        super().__init__()
        self.database, self.table = database, table

    def compose(self) -> ComposeResult:
        yield DataPane(id="data-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataPane).grid.focus()
        self.action_reopen()

    def action_reopen(self) -> None:
        """Select the table again, as picking it in the app does."""
        self.query_one(DataPane).show(parse_url(self.database), self.table)


def main() -> None:
    """Open the database and table named on the command line."""
    if len(sys.argv) != 3:
        sys.exit("usage: python -m dbinspect.tui.data DATABASE TABLE")
    DataApp(sys.argv[1], sys.argv[2]).run()


if __name__ == "__main__":
    main()
