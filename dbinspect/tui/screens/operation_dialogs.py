"""Dialogs of the day-two operations: what each touches, then its run with a progress bar.

Every dialog first names the database and the files the operation reads and writes, and
runs only on its button (or Enter in its field); reset's button stays off until the
database's name is typed. While it runs, a progress bar and a status line show how far
it is, and the cancel key (`x`, as for a migration run) stops it; the outcome is a
notification naming the files written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static
from textual.worker import Worker

from dbinspect.errors import DbInspectError
from dbinspect.migrate.cancellation import CancelledInWorker
from dbinspect.tui.migration_runs import CANCEL_KEY
from dbinspect.tui.operations import Job, contents_line, database_name, display, run_job
from dbinspect.tui.sanitize import escape_controls, safe_text
from dbinspect.tui.session import Session

if TYPE_CHECKING:
    from dbinspect.ops.backup import BackupFormat, BackupResult
    from dbinspect.ops.check import CheckReport
    from dbinspect.ops.repair import RepairResult
    from dbinspect.ops.reset import ResetResult
    from dbinspect.ops.restore import RestoreResult
    from dbinspect.tui.screens.main import MainScreen


def _megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"


class OperationScreen(ModalScreen[None]):
    """The frame every operation's dialog shares: body, fields, progress, buttons."""

    CSS_PATH = "operation_dialogs.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding(CANCEL_KEY, "cancel_run", "Cancel"),
    ]
    HEADING: ClassVar[str] = ""
    RUN_LABEL: ClassVar[str] = "Run"
    CANCELLABLE: ClassVar[bool] = True
    """Whether the cancel key stops a run (reset's runs to its end once started)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.job: Job | None = None
        self._worker: Worker[None] | None = None

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
            return f"{_megabytes(job.done)} of {_megabytes(job.total)}"
        return f"{_megabytes(job.done)} so far" if job.done else "working"

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
        job = self.job = Job()
        self._show_progress()
        self._ticker = self.set_interval(0.1, self._show_progress)
        self._worker = self.run_worker(self._run(job), group="operation", exclusive=True)
        self.refresh_bindings()

    async def _run(self, job: Job) -> None:
        try:
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


def _lines(*parts: Text | str) -> Text:
    return Text("\n").join(p if isinstance(p, Text) else Text(p) for p in parts)


class BackupScreen(OperationScreen):
    """A format, the file to write, then the backup with its progress."""

    HEADING = "Back up the database"
    RUN_LABEL = "Back up"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        from dbinspect.ops.backup import POSTGRES_FORMATS, SQLITE_FORMATS

        self.postgres = session.url.backend == "postgres"
        self.formats = POSTGRES_FORMATS if self.postgres else SQLITE_FORMATS
        self.fmt: BackupFormat = self.formats[0]
        self._default_error: str | None = None

    def fields(self) -> ComposeResult:
        with RadioSet(id="backup-formats"):
            for fmt in self.formats:
                yield RadioButton(fmt, value=fmt == self.fmt, id=f"backup-format-{fmt}")
        yield Input(self._default_name(self.fmt), id="backup-path")

    def _default_name(self, fmt: BackupFormat) -> str:
        from dbinspect.ops.backup import default_target

        try:
            target = default_target(self.session.url, fmt)
        except DbInspectError as error:
            self._default_error = error.one_line()
            return ""
        return display(target, self.session.cwd)

    @on(RadioSet.Changed, "#backup-formats")
    def _format_chosen(self, event: RadioSet.Changed) -> None:
        from dbinspect.ops.backup import EXTENSIONS

        previous, self.fmt = self.fmt, self.formats[event.index]
        field = self.query_one("#backup-path", Input)
        old_suffix = "." + EXTENSIONS[previous]
        if field.value.endswith(old_suffix):
            field.value = field.value[: -len(old_suffix)] + "." + EXTENSIONS[self.fmt]
        self.refresh_body()

    @property
    def target(self) -> Path | None:
        """The file to write, as the field stands."""
        text = self.query_one("#backup-path", Input).value
        return self.path_from(text) if text.strip() else None

    def describe(self) -> Text:
        target = self.target
        verified = " and verified by integrity_check" if self.fmt == "sqlite" else ""
        lines: list[Text | str] = [
            Text("Copies ") + safe_text(self.db_label) + Text(" as of one moment into"),
            Text("  ") + safe_text(str(target) if target else "…", style="bold"),
            f"in the {self.fmt} format. The file (mode 0600) appears only once complete"
            f"{verified}; {CANCEL_KEY} cancels and leaves no file.",
        ]
        if self.postgres and self.fmt != "json":
            lines.append(
                "pg_dump writes this format and cannot be stopped part way: a cancel "
                "removes its file once it ends."
            )
        return _lines(*lines)

    def problem(self) -> str | None:
        target = self.target
        if target is None:
            return self._default_error or "Give a file to write"
        if target.is_dir():
            return f"{target} is a folder: give a file name"
        if target.exists():
            return f"{target.name} exists: a backup never replaces a file; give another name"
        return None

    def work(self, job: Job) -> BackupResult:
        from dbinspect.ops.backup import run_backup

        target = self.target
        assert target is not None
        done = run_backup(self.session.url, self.fmt, target, job.progress)
        if job.cancelled and self.postgres and self.fmt != "json":
            # pg_dump ran to its end: what it wrote is not wanted.
            done.path.unlink(missing_ok=True)
            raise CancelledInWorker
        return done

    def progress_text(self, job: Job) -> str:
        if self.postgres and self.fmt != "json":
            return "pg_dump is writing the backup"
        return f"Backing up: {super().progress_text(job)}"

    def finished(self, result: BackupResult) -> None:
        self.app.notify(
            f"Backed up to {result.path} ({result.size:,} bytes; {result.detail})",
            markup=False,
            timeout=10,
        )

    def cancelled(self) -> str:
        return "Backup cancelled: no file was written."


class RestoreScreen(OperationScreen):
    """A backup file, then the restore in place of the database (a snapshot first)."""

    HEADING = "Restore from a backup file"
    RUN_LABEL = "Restore"

    def __init__(self, session: Session, main: MainScreen) -> None:
        super().__init__(session)
        self.main = main
        self.contents = contents_line(main.schema_)
        self.snapshot: str | None = None
        """Where the snapshot went, told by the restore as soon as it is written."""

    def fields(self) -> ComposeResult:
        yield Input(placeholder="the backup file to restore", id="restore-path")

    @property
    def backup(self) -> Path | None:
        """The backup file, as the field stands."""
        text = self.query_one("#restore-path", Input).value
        return self.path_from(text) if text.strip() else None

    def describe(self) -> Text:
        backup, db = self.backup, safe_text(self.db_label, style="bold")
        kind = ""
        if backup is not None and backup.is_file():
            from dbinspect.ops.restore import detect_format

            try:
                kind = f" (a {detect_format(backup)} backup, as its content says)"
            except DbInspectError:
                kind = ""
        source = safe_text(str(backup) if backup else "…", style="bold")
        lines: list[Text | str] = [
            Text("Replaces ") + db + Text(" with the content of the backup"),
            Text("  ") + source + Text(kind),
        ]
        if self.contents is not None:
            lines.append(
                Text("The database holds data: ", style="bold yellow")
                + Text(f"{self.contents}; the restore replaces all of it.")
            )
        else:
            lines.append("The database holds no tables: nothing in it is replaced.")
        lines += [
            "A snapshot of the database as it stands is taken first, beside it, and named "
            "once written. The backup is loaded and checked in a scratch database before "
            "that: a damaged one leaves the database untouched.",
            f"{CANCEL_KEY} cancels: the database stays as it was.",
        ]
        return _lines(*lines)

    def problem(self) -> str | None:
        backup, url = self.backup, self.session.url
        if backup is None:
            return "Give the backup file to restore"
        if not backup.is_file():
            return f"No file at {backup}"
        if url.path is not None and url.path.exists() and backup.resolve() == url.path.resolve():
            return "That is the database itself: give a backup file"
        return None

    def work(self, job: Job) -> RestoreResult:
        from dbinspect.ops.restore import run_restore

        def tell(line: str) -> None:
            self.snapshot = line

        backup = self.backup
        assert backup is not None
        # The confirmation, naming what the database holds, stands for --force.
        return run_restore(backup, self.session.url, force=True, on_progress=job.progress,
                           tell=tell)  # fmt: skip

    def progress_text(self, job: Job) -> str:
        return f"Restoring: {super().progress_text(job)}"

    def finished(self, result: RestoreResult) -> None:
        kept = (
            f"; the database as it was is kept in {result.snapshot}"
            if result.snapshot
            else "; it held nothing, so no snapshot was needed"
        )
        self.app.notify(
            f"Restored {self.db_label} from the {result.kind} backup {self.backup}{kept}",
            markup=False,
            timeout=12,
        )

    def cancelled(self) -> str:
        kept = f" {self.snapshot}" if self.snapshot else ""
        return f"Restore cancelled: the database is unchanged.{kept}"

    def after(self) -> None:
        self.main.action_refresh()


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
        return _lines(
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

    def describe(self) -> Text:
        output = self.output
        return _lines(
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

        return repair_database(self.session.url, self.output, on_step=job.on_step)

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
        return _lines(
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


class ResultScreen(ModalScreen[None]):
    """A report's lines (check's areas, repair's recovery), escaped, until closed."""

    CSS_PATH = "operation_dialogs.tcss"
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
