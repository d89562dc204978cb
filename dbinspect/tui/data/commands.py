"""Provides `DataCommands`: command palette entries for the Data pane."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from dbinspect.tui.data.pane import DataPane

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


class DataCommands(Provider):
    """Palette commands acting on the Data pane of the current screen, when it has one."""

    def _pane(self) -> DataPane | None:
        """The pane holding the focus (the Query pane's results are one), else the first."""
        panes = list(self.screen.query(DataPane))
        focused = next((pane for pane in panes if pane.has_focus_within), None)
        return focused or (panes[0] if panes else None)

    def _runner(self, pane: DataPane, action: str) -> Callable[[], object]:
        def run() -> object:
            if action == "count":
                return pane.count_rows()
            return getattr(pane, f"action_{action}")()

        return run

    async def discover(self) -> Hits:
        pane = self._pane()
        if pane is None or pane.table is None:
            return
        for name, action, help_text in COMMANDS:
            yield DiscoveryHit(name, self._runner(pane, action), help=help_text)

    async def search(self, query: str) -> Hits:
        pane = self._pane()
        if pane is None or pane.table is None:
            return
        matcher = self.matcher(query)
        for name, action, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(name), self._runner(pane, action), help=help_text
                )
