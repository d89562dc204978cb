"""Dialogs of the day-two operations (check, repair, reset here; backup and restore in
`backup_dialogs`): what each touches, then its run with a progress bar.

Every dialog first names the database and the files the operation reads and writes, and
runs only on its button (or Enter in its field); reset's button stays off until the
database's name is typed. While it runs, a progress bar and a status line show how far
it is, and the cancel key (`x`, as for a migration run) stops it; the outcome is a
notification naming the files written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Input

from dbinspect.tui.migration_runs import CANCEL_KEY
from dbinspect.tui.operations import Job, database_name, display
from dbinspect.tui.sanitize import escape_controls, safe_text
from dbinspect.tui.screens.backup_dialogs import BackupScreen, RestoreScreen
from dbinspect.tui.screens.operation_frame import OperationScreen, ResultScreen, join_lines
from dbinspect.tui.session import Session

if TYPE_CHECKING:
    from dbinspect.ops.check import CheckReport
    from dbinspect.ops.repair import RepairResult
    from dbinspect.ops.reset import ResetResult
    from dbinspect.tui.screens.main import MainScreen

__all__ = [
    "BackupScreen",
    "CheckScreen",
    "OperationScreen",
    "RepairScreen",
    "ResetScreen",
    "RestoreScreen",
    "ResultScreen",
]


class CheckScreen(OperationScreen):
    """Integrity, migration state and drift, then the report in a dialog of its own."""

    HEADING = "Check the database"
    RUN_LABEL = "Check"

    def describe(self) -> Text:
        session = self.session
        integrity = (
            "integrity: INVALID indexes, and amcheck where it is installed"
            if session.url.backend == "postgres"
            else "integrity: integrity_check and foreign_key_check, read-only"
        )
        return join_lines(
            Text("Checks ") + safe_text(self.db_label, style="bold") + Text(", changing nothing:"),
            f"  {integrity}",
            Text("  migration state: against ") + safe_text(session.folder_label),
            "  drift: the applied migrations replayed into a scratch database, compared "
            "object by object",
        )

    def work(self, job: Job) -> CheckReport:
        from dbinspect.ops.check import run_check

        session = self.session
        return run_check(session.url, session.settings, on_progress=job.integrity,
                         cancellation=job.cancellation)  # fmt: skip

    def progress_text(self, job: Job) -> str:
        if job.done:
            return f"integrity_check: {job.elapsed_s:.1f} s, {job.done / 1e6:,.0f}M steps"
        return "Checking"

    def finished(self, result: CheckReport) -> None:
        from dbinspect.ops.check import report_to_lines

        count = result.problems
        verdict = "all is well" if not count else f"{count} problem(s)"
        self.app.push_screen(
            ResultScreen(f"Check: {verdict}", report_to_lines(result), ok=not count)
        )


class RepairScreen(OperationScreen):
    """The new file's name, then the repair: a backup, then a rebuild into that file."""

    HEADING = "Repair into a new file"
    RUN_LABEL = "Repair"

    def fields(self) -> ComposeResult:
        from dbinspect.ops.repair import default_output

        path = self.session.url.path
        value = display(default_output(path), self.session.cwd) if path is not None else ""
        yield Input(value, placeholder="the new file", id="repair-path")

    @property
    def output(self) -> Path | None:
        """The new file, as the field stands."""
        text = self.query_one("#repair-path", Input).value
        return self.path_from(text) if text.strip() else None

    def field_path(self) -> Path | None:
        return self.output

    def describe(self) -> Text:
        output = self.output
        return join_lines(
            Text("Backs up ") + safe_text(self.db_label, style="bold")
            + Text(" beside it first") + self.backup_name()
            + Text(", then rebuilds it into the new file"),
            Text("  ") + safe_text(str(output) if output else "…", style="bold"),
            "never in place: the database itself is not changed. The report says what "
            "was recovered and what was not.",
            f"{CANCEL_KEY} stops it before its next step (a backup already written is kept).",
        )  # fmt: skip

    def problem(self) -> str | None:
        output = self.output
        if output is not None and output.exists():
            return f"{output.name} exists: repair never overwrites a file; give another name"
        return None

    def work(self, job: Job) -> RepairResult:
        from dbinspect.ops.repair import repair_database

        return repair_database(self.session.url, self.chosen, on_step=job.on_step)

    def progress_text(self, job: Job) -> str:
        return f"Repair: {job.step or 'starting'}"

    def finished(self, result: RepairResult) -> None:
        from dbinspect.ops.repair import result_to_lines

        sound = not result.problems_after
        verdict = "passes integrity_check" if sound else "STILL FAILS integrity_check"
        self.app.notify(
            f"Repaired into {result.output} ({verdict}); backup: {result.backup}",
            severity="information" if sound else "error",
            markup=False,
            timeout=12,
        )
        self.app.push_screen(ResultScreen("Repair", result_to_lines(result), ok=sound))

    def cancelled(self) -> str:
        step = self.job.step if self.job is not None else ""
        where = f" (it was {step})" if step else ""
        return (
            f"Repair cancelled{where}: no new file was written; a backup taken before the "
            "cancel stays beside the database."
        )


class ResetScreen(OperationScreen):
    """The database's name typed out, then the reset: backup, drop, migrations again."""

    HEADING = "Reset the database"
    RUN_LABEL = "Reset"
    CANCELLABLE = False
    REPLACES_DATABASE = True

    def __init__(self, session: Session, main: MainScreen) -> None:
        super().__init__(session)
        self.main = main
        self.name_to_type = database_name(session, main)

    def fields(self) -> ComposeResult:
        yield Input(
            placeholder=escape_controls(f"type {self.name_to_type} to confirm"),
            id="reset-name",
        )

    def describe(self) -> Text:
        return join_lines(
            Text("Backs up ") + safe_text(self.db_label, style="bold")
            + Text(" beside it") + self.backup_name()
            + Text(" (mode 0600), then drops every table, view, index and trigger"),
            Text("(the migration tracking table too) and applies the migrations again, from ")
            + safe_text(self.session.folder_label) + Text("."),
            Text("Every row in the database goes; the backup keeps them.", style="bold yellow"),
            "Once started it runs to its end: it cannot be cancelled.",
            Text("Type ") + safe_text(self.name_to_type, style="bold")
            + Text(" below to enable the button."),
        )  # fmt: skip

    def problem(self) -> str | None:
        if self.query_one("#reset-name", Input).value != self.name_to_type:
            return f"Type {self.name_to_type} to confirm"
        return None

    def work(self, job: Job) -> ResetResult:
        from dbinspect.ops.reset import reset_database

        session = self.session
        # The typed name stands for --force.
        return reset_database(session.url, session.settings, force=True)

    def progress_text(self, job: Job) -> str:
        return "Resetting: backing up, dropping, applying the migrations"

    def finished(self, result: ResetResult) -> None:
        self.app.notify(
            f"Reset {self.db_label}: dropped {len(result.dropped)} object(s), applied "
            f"{len(result.applied)} migration(s); backup: {result.backup}",
            markup=False,
            timeout=12,
        )

    def after(self) -> None:
        self.main.action_refresh()
