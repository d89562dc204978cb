"""The Query pane's questions: commit or roll back a write, and search the history."""

from __future__ import annotations

import time
from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from dbinspect.query.history import History
from dbinspect.tui.sanitize import safe_text

TYPE_AHEAD_S = 0.3
"""Keys that arrive this soon after the question were typed before it: not answers."""
COMMIT_TIMEOUT_S = 60.0
"""A write's transaction holds the write lock: unanswered, it is rolled back after this."""

Answer = Literal["commit", "rollback", "timeout"]


class CommitScreen(ModalScreen[Answer]):
    """Commit or roll back the write just run; rolls back by itself after a minute."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "answer('commit')", "Commit"),
        Binding("r,escape", "answer('rollback')", "Roll back"),
    ]
    DEFAULT_CSS = """
    CommitScreen { align: center middle; }
    CommitScreen > Vertical {
        width: 70; height: auto; padding: 1 2; border: thick $warning; background: $surface;
    }
    CommitScreen #commit-wait { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, summary: str, timeout: float | None = None) -> None:
        super().__init__()
        self.summary = summary
        self.timeout = COMMIT_TIMEOUT_S if timeout is None else timeout
        """Seconds until the rollback (read when asked, so that it can be set lower)."""
        self._deadline = 0.0
        self._shown = 0.0
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Commit this write?", style="bold"))
            yield Label(safe_text(self.summary))
            yield Label(Text("c commits, r (or Escape) rolls back"))
            yield Label("", id="commit-wait")

    def on_mount(self) -> None:
        self._shown = time.monotonic()
        self._deadline = self._shown + self.timeout
        self._tick()
        self._ticker = self.set_interval(0.5, self._tick)

    def _tick(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self.dismiss("timeout")
            return
        self.query_one("#commit-wait", Label).update(
            Text(f"The write lock is held meanwhile: rolled back in {left:.0f} s")
        )

    def action_answer(self, answer: Answer) -> None:
        if answer == "commit" and time.monotonic() - self._shown < TYPE_AHEAD_S:
            return  # a `c` typed ahead (in the statement) must not commit
        self.dismiss(answer)


class HistoryScreen(ModalScreen[str | None]):
    """Search the database's history; Enter puts the statement in the editor."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    HistoryScreen { align: center middle; }
    HistoryScreen > Vertical {
        width: 90%; height: 70%; padding: 0 1; border: thick $accent; background: $surface;
    }
    HistoryScreen OptionList { height: 1fr; }
    """
    SHOWN = 200

    def __init__(self, history: History) -> None:
        super().__init__()
        self.history = history
        self._found: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("History: type to search, Enter to use, Escape to close"))
            yield Input(placeholder="words to find", id="history-search")
            yield OptionList(id="history-found")

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#history-search")
    def _searched(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, text: str) -> None:
        entries = self.history.search(text, limit=self.SHOWN)
        self._found = [entry.sql for entry in entries]
        found = self.query_one("#history-found", OptionList)
        found.clear_options()
        found.add_options(
            Option(safe_text(" ".join(sql.split())[:200]), id=str(i))
            for i, sql in enumerate(self._found)
        )
        if self._found:
            found.highlighted = 0

    @on(Input.Submitted, "#history-search")
    def _take_highlighted(self) -> None:
        found = self.query_one("#history-found", OptionList)
        if found.highlighted is not None and self._found:
            self.dismiss(self._found[found.highlighted])

    @on(OptionList.OptionSelected, "#history-found")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._found[int(event.option.id or 0)])

    def action_close(self) -> None:
        self.dismiss(None)
