"""Provides `QueryCommands`: command palette entries for the Query pane."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

from dbinspect.tui.pane_commands import PaneCommands
from dbinspect.tui.query.pane import (
    EXPLAIN_KEY,
    HISTORY_KEY,
    NEW_BUFFER_KEY,
    NEXT_BUFFER_KEY,
    NEXT_RESULT_KEY,
    PREVIOUS_RESULT_KEY,
    RUN_ALL_KEY,
    RUN_KEY,
    WRITE_KEY,
    QueryPane,
)

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Query: run statement", "run_statement", f"Run the statement under the cursor ({RUN_KEY})"),
    ("Query: run all", "run_all", f"Run every statement of the buffer in turn ({RUN_ALL_KEY})"),
    ("Query: explain", "explain", f"Plan of the statement under the cursor ({EXPLAIN_KEY})"),
    ("Query: write mode on/off", "toggle_write", f"Allow writes, each one confirmed ({WRITE_KEY})"),
    ("Query: search history", "search_history", f"Find a statement run before ({HISTORY_KEY})"),
    ("Query: new buffer", "new_buffer", f"Open an empty buffer ({NEW_BUFFER_KEY})"),
    ("Query: next buffer", "next_buffer", f"Show the next buffer ({NEXT_BUFFER_KEY})"),
    ("Query: close buffer", "close_buffer", "Close the buffer shown, dropping its text"),
    ("Query: next result", "next_result", f"The last run's next result ({NEXT_RESULT_KEY})"),
    ("Query: previous result", "previous_result", f"Its previous result ({PREVIOUS_RESULT_KEY})"),
    ("Query: cancel", "escape", "Stop the statement running now (esc)"),
)  # fmt: skip


class QueryCommands(PaneCommands):
    """Palette commands acting on the Query pane, once it has been opened."""

    COMMANDS = COMMANDS

    def pane(self) -> Widget | None:
        panes = self.screen.query(QueryPane)
        return panes.first() if panes else None

    def runner(self, pane: Widget, action: str) -> Callable[[], object]:
        run = super().runner(pane, action)

        def show_then_run() -> object:
            self.screen.action_show_pane("query")  # type: ignore[attr-defined]
            return run()

        return show_then_run
