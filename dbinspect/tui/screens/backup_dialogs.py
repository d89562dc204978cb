"""The dialogs of backup and restore: the file to write or to read, then the run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, RadioButton, RadioSet

from dbinspect.errors import DbInspectError
from dbinspect.migrate.cancellation import CancelledInWorker
from dbinspect.tui.migration_runs import CANCEL_KEY
from dbinspect.tui.operations import Job, contents_line, display
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.screens.operation_frame import OperationScreen, join_lines
from dbinspect.tui.session import Session

if TYPE_CHECKING:
    from dbinspect.ops.backup import BackupFormat, BackupResult
    from dbinspect.ops.restore import RestoreResult
    from dbinspect.tui.screens.main import MainScreen

__all__ = ["BackupScreen", "RestoreScreen"]


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

    def field_path(self) -> Path | None:
        return self.target

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
        return join_lines(*lines)

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

        target = self.chosen
        assert target is not None
        done = run_backup(self.session.url, self.fmt, target, job.progress)
        if job.cancelled:
            # Cancelled after the last progress report (pg_dump gives none): the file is
            # complete but not wanted, and it is new (`problem` refuses an existing one).
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
    REPLACES_DATABASE = True

    def __init__(self, session: Session, main: MainScreen) -> None:
        super().__init__(session)
        self.main = main
        self.contents = contents_line(main.schema_)
        self.snapshot: str | None = None
        """Where the snapshot went, told by the restore as soon as it is written."""
        self.notes: list[str] = []
        """What else the restore told (a policy's role missing on this server, an owner
        it could not give): shown once it is done."""

    def fields(self) -> ComposeResult:
        yield Input(placeholder="the backup file to restore", id="restore-path")

    @property
    def backup(self) -> Path | None:
        """The backup file, as the field stands."""
        text = self.query_one("#restore-path", Input).value
        return self.path_from(text) if text.strip() else None

    def field_path(self) -> Path | None:
        return self.backup

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
        return join_lines(*lines)

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
        from dbinspect.ops.restore import SNAPSHOT_TOLD, run_restore

        def tell(line: str) -> None:
            if line.startswith(SNAPSHOT_TOLD):
                self.snapshot = line
            else:
                self.notes.append(line)

        backup = self.chosen
        assert backup is not None
        # The confirmation, naming what the database holds, stands for --force.
        return run_restore(backup, self.session.url, force=True, on_progress=job.progress,
                           tell=tell, on_step=job.on_step)  # fmt: skip

    def progress_text(self, job: Job) -> str:
        step = f"{job.step}: " if job.step else ""
        return f"Restoring: {step}{super().progress_text(job)}"

    def finished(self, result: RestoreResult) -> None:
        if not result.snapshot:
            kept = "; it held nothing, so no snapshot was needed"
        elif self.session.url.backend == "postgres":
            kept = f"; the database as it was is kept as the database {result.snapshot}"
        else:
            kept = f"; the database as it was is kept in {result.snapshot}"
        self.app.notify(
            f"Restored {self.db_label} from the {result.kind} backup {self.chosen}{kept}",
            markup=False,
            timeout=12,
        )
        for note in self.notes:
            self.app.notify(note, severity="warning", markup=False, timeout=12)

    def cancelled(self) -> str:
        kept = f" {self.snapshot}" if self.snapshot else ""
        return f"Restore cancelled: the database is unchanged.{kept}"

    def after(self) -> None:
        self.main.action_refresh()
