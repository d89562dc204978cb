"""The frame every day-two operation's dialog shares, and the dialog of a report.

`OperationScreen` names what the operation touches, runs it on its button (or Enter in
a field) on a worker thread (`tui.operations.run_job`), shows a progress bar and a
status line meanwhile, stops it on the cancel key (`x`, as for a migration run), and
ends with a notification naming the files written.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Button, Input, Label, ProgressBar, RadioSet, Static
from textual.worker import Worker

from dbinspect.errors import DbInspectError
from dbinspect.migrate.cancellation import CancelledInWorker
from dbinspect.tui.migration_runs import CANCEL_KEY
from dbinspect.tui.operations import Job, display, run_job
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.session import Session

__all__ = ["OperationScreen", "ResultScreen", "join_lines", "megabytes"]


def megabytes(count: float) -> str:
    """A byte count as the status lines give it."""
    return f"{count / 1e6:,.1f} MB"


class OperationScreen(ModalScreen[None]):
    """The frame every operation's dialog shares: body, fields, progress, buttons."""

    CSS_PATH = "operation_frame.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding(CANCEL_KEY, "cancel_run", "Cancel"),
    ]
    HEADING: ClassVar[str] = ""
    RUN_LABEL: ClassVar[str] = "Run"
    CANCELLABLE: ClassVar[bool] = True
    """Whether the cancel key stops a run (reset's runs to its end once started)."""
    REPLACES_DATABASE: ClassVar[bool] = False
    """Whether it rewrites the database (restore, reset): the app's own connections are
    then closed while it runs (see `ConnectionOwner.closed_meanwhile`), and every pane
    is read again once it has ended (`after`)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.job: Job | None = None
        self.chosen: Path | None = None
        """The file the fields name, read when the run starts: `work` runs on another
        thread, where the widgets must not be read."""
        self._worker: Worker[None] | None = None
        self._ticker: Timer | None = None

    # What each operation fills in

    def fields(self) -> ComposeResult:
        """The inputs between the description and the progress bar."""
        return iter(())

    def describe(self) -> Text:
        """What will happen, naming the database and every file involved."""
        raise NotImplementedError

    def problem(self) -> str | None:
        """Why it cannot run as the fields stand (shown instead of the hint), or None."""
        return None

    def field_path(self) -> Path | None:
        """The file the fields name (the run's `chosen`), if any."""
        return None

    def work(self, job: Job) -> Any:
        """The operation itself, on the worker thread."""
        raise NotImplementedError

    def finished(self, result: Any) -> None:
        """Tell the outcome (on the app's thread); the dialog closes after."""

    def cancelled(self) -> str:
        """The notification once a cancel has stopped it."""
        return f"{self.HEADING} cancelled."

    def progress_text(self, job: Job) -> str:
        """The status line while it runs."""
        if job.total:
            return f"{megabytes(job.done)} of {megabytes(job.total)}"
        return f"{megabytes(job.done)} so far" if job.done else "working"

    def after(self) -> None:
        """Once the run has ended, however it ended (reload what it changed)."""

    # The frame

    def compose(self) -> ComposeResult:
        with Vertical(id="operation"):
            yield Label(self.HEADING, id="operation-title", markup=False)
            with VerticalScroll(id="operation-scroll"):
                yield Static(Text(""), id="operation-body")
            yield from self.fields()
            yield ProgressBar(total=None, show_eta=False, id="operation-progress")
            yield Static(Text(""), id="operation-status")
            with Horizontal(id="operation-buttons"):
                yield Button(self.RUN_LABEL, variant="warning", id="operation-run")
                yield Button("Close (esc)", id="operation-close")

    def on_mount(self) -> None:
        self.refresh_body()
        first = next(iter(self.query(Input)), None)
        (first or self.query_one("#operation-run", Button)).focus()

    @property
    def running(self) -> bool:
        """Whether the operation is running."""
        return self._worker is not None and self._worker.is_running

    def refresh_body(self) -> None:
        """Show the description and whether it can run, as the fields now stand."""
        self.query_one("#operation-body", Static).update(self.describe())
        problem = self.problem()
        self.query_one("#operation-run", Button).disabled = problem is not None
        if problem is not None:
            self._say(safe_text(problem, style="bold"))
        else:
            self._say(Text(f"{self.RUN_LABEL} (enter) runs it · esc closes"))

    def _say(self, text: Text) -> None:
        self.query_one("#operation-status", Static).update(text)

    @on(Input.Changed)
    @on(RadioSet.Changed)
    def _fields_changed(self) -> None:
        if not self.running:
            self.refresh_body()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.start()

    @on(Button.Pressed, "#operation-run")
    def _run_pressed(self) -> None:
        self.start()

    @on(Button.Pressed, "#operation-close")
    def _close_pressed(self) -> None:
        self.action_close()

    def start(self) -> None:
        """Run the operation, unless it runs already or its fields are not right."""
        if self.running or self.problem() is not None:
            return
        for widget in self.query("Input, RadioSet, Button"):
            widget.disabled = True
        self.query_one("#operation-progress", ProgressBar).add_class("-running")
        self.chosen = self.field_path()
        job = self.job = Job()
        self._show_progress()
        self._ticker = self.set_interval(0.1, self._show_progress)
        self._worker = self.run_worker(self._run(job), group="operation", exclusive=True)
        self.refresh_bindings()

    async def _run(self, job: Job) -> None:
        if self.REPLACES_DATABASE:
            from dbinspect.tui.query.pane import close_consoles

            await close_consoles(self.app, "for the operation that replaced the database")
        held = (
            self.session.connections.closed_meanwhile()
            if self.REPLACES_DATABASE
            else contextlib.nullcontext()
        )
        try:
            async with held:
                result = await run_job(job, self.work)
        except CancelledInWorker:
            self._ended()
            self.app.notify(self.cancelled(), severity="warning", markup=False, timeout=8)
            self.dismiss(None)
        except DbInspectError as error:
            self._ended()
            self._failed(error.one_line())
        else:
            self._ended()
            self.dismiss(None)
            self.finished(result)
        self.after()

    def _ended(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        self._worker = None
        self.refresh_bindings()

    def _failed(self, reason: str) -> None:
        self.query_one("#operation-progress", ProgressBar).remove_class("-running")
        for widget in self.query("Input, RadioSet, Button"):
            widget.disabled = False
        self.refresh_body()
        self._say(safe_text(f"{self.HEADING} failed: {reason}", style="bold red"))
        self.query_one("#operation-close", Button).focus()

    def _show_progress(self) -> None:
        job = self.job
        if job is None:
            return
        bar = self.query_one("#operation-progress", ProgressBar)
        if job.total:
            bar.update(total=job.total, progress=job.done)
        text = "Cancelling…" if job.cancelled else self.progress_text(job) + "…"
        if self.CANCELLABLE and not job.cancelled:
            text += f" press {CANCEL_KEY} to cancel"
        self._say(safe_text(text))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_run":
            return self.running and self.CANCELLABLE
        return True

    def action_cancel_run(self) -> None:
        """Stop the run: the operation stops at its next progress report and cleans up."""
        if self.job is not None and self.running and self.CANCELLABLE:
            self.job.cancel()
            self._show_progress()

    def action_close(self) -> None:
        """Close the dialog; while it runs, say how to stop it instead."""
        if not self.running:
            self.dismiss(None)
            return
        if self.CANCELLABLE:
            self.app.notify(f"Still running: press {CANCEL_KEY} to cancel it.", markup=False)
        else:
            self.app.notify(f"{self.HEADING} runs to its end once started.", markup=False)

    # Shared wording

    @property
    def db_label(self) -> str:
        """The database, as the dialogs name it (its file, or its masked URL)."""
        url = self.session.url
        if url.path is not None:
            return self.session.path_label or display(url.path, self.session.cwd)
        return url.masked

    def backup_name(self) -> Text:
        """` (as <db>-<UTC timestamp>.sqlite)`: the backup that repair and reset take first."""
        path = self.session.url.path
        if path is None:
            return Text("")
        return Text(" (as ") + safe_text(f"{path.stem}-<UTC timestamp>.sqlite") + Text(")")

    def path_from(self, text: str) -> Path:
        """A path typed in a field: relative ones are in the app's working folder."""
        return self.session.cwd / Path(text.strip()).expanduser()


def join_lines(*parts: Text | str) -> Text:
    """The parts of a dialog's description, one a line."""
    return Text("\n").join(p if isinstance(p, Text) else Text(p) for p in parts)


class ResultScreen(ModalScreen[None]):
    """A report's lines (check's areas, repair's recovery), escaped, until closed."""

    CSS_PATH = "operation_frame.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, title: str, lines: list[str], *, ok: bool) -> None:
        super().__init__()
        self._title = title
        self._report = lines
        self._ok = ok

    def compose(self) -> ComposeResult:
        with Vertical(id="operation-result", classes="" if self._ok else "-problems"):
            yield Label(self._title, id="operation-title", markup=False)
            with VerticalScroll(id="operation-scroll"):
                yield Static(
                    Text("\n").join(safe_text(line) for line in self._report), id="result-lines"
                )
            with Horizontal(id="operation-buttons"):
                yield Button("Close", id="result-close")

    def on_mount(self) -> None:
        self.query_one("#result-close", Widget).focus()

    def on_button_pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the report."""
        self.dismiss(None)
