"""Provides `DataCommands`: command palette entries for the Data pane."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

from dbinspect.tui.data.pane import DataPane
from dbinspect.tui.pane_commands import PaneCommands

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Data: copy row as JSON", "copy_row_json", "Copy the row under the cursor as a JSON object"),
    ("Data: copy row as TSV", "copy_row", "Copy the row under the cursor, tab separated"),
    ("Data: copy cell", "copy_cell", "Copy the cell under the cursor"),
    ("Data: open cell", "open_cell", "Show the cell under the cursor in full"),
    ("Data: sort by column", "sort", "Sort by the cursor's column (again: descending, off)"),
    ("Data: count rows exactly", "count", "Count the rows in the background"),
    (
        "Data: export rows",
        "export",
        "Write the rows as browsed (filters, sort) to CSV, JSON Lines or SQL INSERTs",
    ),
    ("Data: stop", "stop", "Stop the row count and any slow query"),
)


class DataCommands(PaneCommands):
    """Palette commands acting on the Data pane of the current screen, when it has one."""

    COMMANDS = COMMANDS

    def pane(self) -> Widget | None:
        """The pane holding the focus (the Query pane's results are one), else the first;
        none before a table is open."""
        panes = list(self.screen.query(DataPane))
        focused = next((pane for pane in panes if pane.has_focus_within), None)
        found = focused or (panes[0] if panes else None)
        return found if found is not None and found.table is not None else None

    def runner(self, pane: Widget, action: str) -> Callable[[], object]:
        if action == "count" and isinstance(pane, DataPane):
            return pane.count_rows
        return super().runner(pane, action)
