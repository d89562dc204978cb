"""`ResultPane`: the Data pane's grid, header, cell detail, copy and export on a result.

A result is browsed like a view (by row number) through `ResultPager`, so everything
that needs no table (cell detail, copy, the JSON view, export, End, jumps) works as in
the Data pane; what needs one (filter, sort, following keys) is switched off.
"""

from __future__ import annotations

from dbinspect.browse.protocol import RowPager
from dbinspect.connections import Role
from dbinspect.models import RowQuery
from dbinspect.query.pager import RESULT, ResultPager
from dbinspect.tui.data import DataPane
from dbinspect.url import DatabaseUrl

TABLE_ACTIONS = frozenset(
    {"filter", "sort", "follow_key", "go_back", "drop_filter", "clear_filters"}
)
"""Data pane actions that need a table; a result has none."""


class ResultSource:
    """One result as the Data pane's `PagerSource`: every role reads the same result."""

    def __init__(self, url: DatabaseUrl, pager: ResultPager) -> None:
        self.url = url
        self.pager = pager

    async def get(self, role: Role) -> RowPager:
        return self.pager

    async def interrupt(self, role: Role) -> None:
        # Not passed on: the grid cancels a page read each time the user scrolls on, and
        # on PostgreSQL a cancel aborts the transaction that holds the result's cursor
        # (every later page would fail). A page read that is no longer wanted runs to its
        # end instead; the next waits for it (one at a time). `esc` in the Query pane
        # still cancels a running statement through the console itself.
        return None

    async def release(self, role: Role) -> None:
        return None

    async def aclose(self) -> None:
        return None


class ResultPane(DataPane):
    """The rows of the statement run last."""

    EMPTY_HINT = "No result yet: write a statement above, then ctrl+j runs it"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in TABLE_ACTIONS:
            return False
        return super().check_action(action, parameters)

    def show_result(self, url: DatabaseUrl, pager: ResultPager) -> None:
        """Show `pager`'s rows from the first; the row count follows once known."""
        self.history.clear()
        self.browser.forget()
        self.connections = ResultSource(url, pager)
        self.open_table(url, RESULT, RowQuery(), None, 0)

    def clear_result(self) -> None:
        """Show no rows (a statement without rows ran, or the console was reset)."""
        self.browser.forget()
        self.connections = None
        self._show_unreadable()
