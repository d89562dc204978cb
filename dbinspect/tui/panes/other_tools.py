"""Provides the other migration tools' histories, as the Migrations and Metadata panes show them.

Read-only: the tracking tables of Alembic, Flyway, dbmate... are read on a worker thread
(`dbinspect.migrate.foreign.aio`) each time the pane shows new statuses. Every value is
escaped by `dbinspect.migrate.foreign.report` and shown as plain Text, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dbinspect.errors import DbInspectError
from dbinspect.tui.sanitize import safe_text

if TYPE_CHECKING:
    from dbinspect.migrate.foreign import ForeignHistory
    from dbinspect.tui.session import Session

MAX_ENTRIES = 12
"""The latest entries shown per tool in the Migrations pane (`migrate info` lists all)."""

HEADING = "Other migration tools (read-only)"


def histories_text(histories: list[ForeignHistory], session: Session, *, full: bool) -> Text:
    """The histories as Text: every line (`full`), or one summary line per tool."""
    from dbinspect.migrate.foreign.report import history_lines, summary

    text = Text()
    for history in histories:
        if not full:
            style = "bold red" if history.state != "clean" else ""
            text.append(summary(history) + "\n", style=style)
            continue
        for number, line in enumerate(history_lines(history, session.cwd, max_entries=MAX_ENTRIES)):
            style = ""
            if number == 0:
                style = "bold"
            elif "/dirty" in line or "/failed" in line or line.startswith("  problem:"):
                style = "bold red"
            elif line.startswith("  lock:") or "/rolled back" in line or "/pending" in line:
                style = "yellow"
            elif line.startswith(("  note:", "  folder:", "  …")):
                style = "dim"
            text.append(line + "\n", style=style)
    text.rstrip()
    return text


class OtherTools(VerticalScroll):
    """Other tools' tracking tables found in the database; hidden when there are none.

    `full` lists each tool's entries (the Migrations pane); otherwise one line per tool
    (the Metadata pane).
    """

    def __init__(self, *, full: bool, id: str | None = None) -> None:
        super().__init__(id=id, classes="-hidden")
        self.full = full
        self.histories: list[ForeignHistory] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(""), classes="other-tools-text")

    @work(exclusive=True, group="other-tools")
    async def load(self, session: Session) -> None:
        """Read the histories again and show them."""
        from dbinspect.migrate.foreign import aio

        try:
            histories = await aio.histories(session.url, cwd=session.cwd)
        except DbInspectError as error:
            self._show(
                Text(HEADING + ": cannot be read: ", style="red") + safe_text(error.one_line()),
                hidden=False,
            )
            return
        self.histories = histories
        title = Text(HEADING + "\n", style="bold underline")
        self._show(title + histories_text(histories, session, full=self.full), hidden=not histories)

    def _show(self, text: Text, *, hidden: bool) -> None:
        # The read takes a while: the pane may not be composed yet, or be gone (a reload,
        # the app closing). Then there is nothing to show it in.
        found = self.query(Static)
        if not found:
            return
        self.set_class(hidden, "-hidden")
        found.first().update(text)
