"""Provides `QueryCommands`: command palette entries for the Query pane."""

from __future__ import annotations

from collections.abc import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from dbinspect.tui.query.pane import (
    EXPLAIN_KEY,
    HISTORY_KEY,
    NEW_BUFFER_KEY,
    NEXT_BUFFER_KEY,
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
    ("Query: cancel", "escape", "Stop the statement running now (esc)"),
)  # fmt: skip


class QueryCommands(Provider):
    """Palette commands acting on the Query pane, once it has been opened."""

    def _pane(self) -> QueryPane | None:
        panes = self.screen.query(QueryPane)
        return panes.first() if panes else None

    def _runner(self, pane: QueryPane, action: str) -> Callable[[], object]:
        def run() -> object:
            self.screen.action_show_pane("query")  # type: ignore[attr-defined]
            return getattr(pane, f"action_{action}")()

        return run

    async def discover(self) -> Hits:
        pane = self._pane()
        if pane is None:
            return
        for name, action, help_text in COMMANDS:
            yield DiscoveryHit(name, self._runner(pane, action), help=help_text)

    async def search(self, query: str) -> Hits:
        pane = self._pane()
        if pane is None:
            return
        matcher = self.matcher(query)
        for name, action, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(name), self._runner(pane, action), help=help_text
                )
