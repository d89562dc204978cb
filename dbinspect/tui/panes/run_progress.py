"""Provides `RunProgress`: the line the Migrations pane shows while a plan runs."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from dbinspect.migrate import MigrationEvent
from dbinspect.tui.messages import MigrationPlan
from dbinspect.tui.migration_runs import RunTracker, progress_line


class RunProgress(Horizontal):
    """What runs now and how to cancel it, beside a bar of the migrations done."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-hidden")
        self._plan: MigrationPlan | None = None
        self._tracker = RunTracker()
        self._cancelling = False

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="migrations-progress-label")
        yield ProgressBar(id="migrations-progress", show_eta=False)

    def start(self, plan: MigrationPlan, tracker: RunTracker) -> None:
        """Show the run of `plan`, whose events `tracker` follows."""
        self._plan, self._tracker, self._cancelling = plan, tracker, False
        self.query_one(ProgressBar).update(total=len(plan.steps), progress=0)
        self._redraw()
        self.remove_class("-hidden")

    def advance(self, event: MigrationEvent) -> None:
        """Move on when a migration starts or finishes."""
        if event.kind == "finished":
            self.query_one(ProgressBar).update(total=event.total, progress=event.position + 1)
        self._redraw()

    def cancelling(self) -> None:
        """Say that the migration in flight is being rolled back."""
        self._cancelling = True
        self._redraw()

    def stop(self) -> None:
        """Hide the line: the run's outcome is shown in the banner."""
        self._plan = None
        self.add_class("-hidden")

    def _redraw(self) -> None:
        if self._plan is not None:
            line = progress_line(self._plan, self._tracker.in_flight, cancelling=self._cancelling)
            self.query_one("#migrations-progress-label", Static).update(line)
