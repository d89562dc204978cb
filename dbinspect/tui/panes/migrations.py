"""Provides the Migrations pane: every migration's status, its SQL, and the keys to run them.

The pane owns the workflow behind its keys: it works out what an action would run, asks to
confirm that, runs exactly that, shows the progress, lets the run be cancelled, and reports
the outcome in a banner. The screen only rereads the other panes when a run has ended.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from dbinspect.errors import DbInspectError
from dbinspect.migrate import MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.tui.messages import (
    MigrationPlan,
    MigrationProgressed,
    MigrationsCancelled,
    MigrationsFailed,
    MigrationsFinished,
    PlanReady,
    StatusReading,
)
from dbinspect.tui.migration_plans import (
    choose_action,
    confirmation_body,
    failure_report,
    make_plan,
    run_confirmed,
)
from dbinspect.tui.migration_runs import (
    BUSY,
    CANCEL_KEY,
    RunTracker,
    StatusKey,
    cancelled_summary,
    finished_summary,
    read_statuses,
    status_key,
)
from dbinspect.tui.panes.other_tools import OtherTools
from dbinspect.tui.panes.run_progress import RunProgress
from dbinspect.tui.sanitize import escape_controls, escape_text, safe_text
from dbinspect.tui.screens.dialogs import ConfirmScreen, ReportScreen
from dbinspect.tui.session import Session
from dbinspect.tui.sql_view import sql_block

__all__ = ["MigrationsPane", "MigrationsTable", "format_duration", "sql_block"]

STATUS_STYLES = {
    "applied": "green",
    "pending": "yellow",
    "modified": "bold magenta",
    "missing": "bold red",
    "failed": "bold red",
}


def format_duration(ns: int) -> str:
    """`12.3 ms`; `-` for a migration whose time was never recorded."""
    if ns < 0:
        return "-"
    if ns < 1_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.2f} s"


class MigrationsTable(DataTable[object]):
    """The migrations, one a row; j/k/g/G move as they do in the Schema and Data panes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]


class MigrationsPane(Vertical):
    """The migrations table; `a`, `A`, `r`, `t` apply, apply all, revert, migrate to."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "migrate('next')", "Apply next"),
        Binding("A", "migrate('all')", "Apply all"),
        Binding("r", "migrate('revert')", "Revert last"),
        Binding("t", "migrate('target')", "Migrate to"),
        Binding(CANCEL_KEY, "cancel_run", "Cancel run"),
    ]

    class SelectionChanged(Message):
        """The statuses shown or the migration under the cursor changed."""

        def __init__(
            self, statuses: list[MigrationStatus], selected: MigrationStatus | None
        ) -> None:
            super().__init__()
            self.statuses = statuses
            self.selected = selected

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self._statuses: list[MigrationStatus] = []
        self._reading: StatusReading | None = None
        self._current_run: MigrationPlan | None = None
        self._progress = RunTracker()
        self._engine: asyncio.Task[list[MigrationResult]] | None = None
        self._cancelling = False
        self._banner_basis: StatusKey | None = None
        """The statuses the banner's outcome left; a reload that differs hides the banner."""
        self._banner_awaits_statuses = False

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="migrations-banner", classes="-hidden")
        yield Static(Text(""), id="migrations-invalid", classes="-hidden")
        yield OtherTools(full=True, id="migrations-other")
        yield MigrationsTable(id="migrations-table", cursor_type="row", zebra_stripes=True)
        yield RunProgress(id="migrations-run")
        with VerticalScroll(id="migrations-sql"):
            yield Static(Text(""), id="migrations-sql-text")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Short columns first: on a narrow terminal the long ones are cut, never Reversible.
        for label in ("Version", "Status", "Reversible", "Description", "Applied at", "Duration"):
            table.add_column(label, key=label.lower())
        outcome = self.session.outcome
        if outcome is not None:
            # Described against the first statuses read, as a run's banner is.
            self._report(Text(outcome.summary), error=outcome.error is not None, after=None)
            if outcome.error is not None:
                self._show_failure("Migrations on launch failed", outcome.error)
            else:
                self.notify(outcome.summary, markup=False)

    @property
    def table(self) -> DataTable[object]:
        """The migrations table."""
        return self.query_one("#migrations-table", DataTable)

    @property
    def statuses(self) -> list[MigrationStatus]:
        """The statuses shown."""
        return self._statuses

    @property
    def selected(self) -> MigrationStatus | None:
        """The migration under the cursor."""
        row = self.table.cursor_row
        return self._statuses[row] if 0 <= row < len(self._statuses) else None

    @property
    def running(self) -> bool:
        """Whether a confirmed plan is running (until its outcome is shown)."""
        return self._current_run is not None

    def set_banner(self, text: Text | None, *, error: bool = False) -> None:
        """Show a line above the table (launch outcome, last action), or hide it.

        The line may quote an error that names a file or a description: it is escaped here.
        """
        banner = self.query_one("#migrations-banner", Static)
        banner.set_class(text is None, "-hidden")
        banner.set_class(error, "-error")
        banner.update(escape_text(text) if text is not None else Text(""))

    def show(self, statuses: list[MigrationStatus] | None, error: str | None) -> None:
        """Fill the table, keeping the cursor on the same version."""
        self._reading = StatusReading(statuses, error)
        self._check_banner()
        table = self.table
        previous = self.selected.version if self.selected else None
        self._statuses = statuses or []
        table.clear()
        for status in self._statuses:
            applied = status.applied
            migration = status.migration
            reversible = migration is not None and migration.down_sql is not None
            table.add_row(
                str(status.version),
                Text(status.status, style=STATUS_STYLES[status.status]),
                "yes" if reversible else "no",
                safe_text(status.description, max_chars=60),
                safe_text(applied.installed_on if applied else ""),
                format_duration(applied.execution_time) if applied else "",
                key=str(status.version),
            )
        versions = [s.version for s in self._statuses]
        if previous in versions:
            table.move_cursor(row=versions.index(previous))
        self._selection_changed()
        self.query_one(OtherTools).load(self.session)
        if self.session.url.backend == "postgres":
            self._read_invalid_indexes()
        if error is not None:
            self.query_one("#migrations-sql-text", Static).update(
                Text("Migrations cannot be read: ", style="red") + safe_text(error)
            )
            return
        if not self._statuses:
            self.query_one("#migrations-sql-text", Static).update(
                Text("No migrations in the folder.", style="dim")
            )
            return
        self._show_sql()

    @work(exclusive=True, group="invalid-indexes")
    async def _read_invalid_indexes(self) -> None:
        """Name the indexes a failed `CREATE INDEX CONCURRENTLY` left INVALID, in red."""
        from dbinspect.migrate import aio  # the engine loads after the first frame

        try:
            invalid = await aio.invalid_indexes(self.session.url)
        except DbInspectError:
            invalid = []  # the table's own reading says what is wrong with the database
        found = self.query("#migrations-invalid")
        if not found:
            return  # the app closed while the catalog was read
        line = found.first(Static)
        line.set_class(not invalid, "-hidden")
        line.update(escape_text(Text("\n".join(index.warning() for index in invalid), "bold")))

    @on(DataTable.RowHighlighted, "#migrations-table")
    def _row_highlighted(self) -> None:
        self._show_sql()
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.post_message(self.SelectionChanged(list(self._statuses), self.selected))

    def _show_sql(self) -> None:
        status = self.selected
        if status is None:
            return
        title = Text(f"{status.version} ", style="bold") + safe_text(status.description)
        migration = status.migration
        if migration is None:
            body: RenderableType = Text("no file in the folder (missing)", style="red")
        else:
            body = Group(
                sql_block(f"up: {migration.path.name}", migration.up_sql, app=self.app),
                sql_block(
                    f"down: {migration.down_path.name}" if migration.down_path else "down",
                    migration.down_sql,
                    app=self.app,
                ),
            )
        self.query_one("#migrations-sql-text", Static).update(Group(title, Text(""), body))

    # The outcome banner

    def _report(self, text: Text, *, error: bool, after: StatusReading | None) -> None:
        """Show an outcome in the banner, described against the statuses it left.

        `after` is what the statuses were once the action had ended (read by its worker);
        None takes the next statuses shown instead.
        """
        self.set_banner(text, error=error)
        self._banner_awaits_statuses = after is None
        self._banner_basis = None if after is None else status_key(after)
        if after is not None:
            self.show(after.statuses, after.error)

    def _check_banner(self) -> None:
        """Hide the banner once the statuses no longer are the ones its outcome left."""
        if self._reading is None:
            return
        now = status_key(self._reading)
        if self._banner_awaits_statuses:
            self._banner_awaits_statuses = False
            self._banner_basis = now
        elif self._banner_basis is not None and now != self._banner_basis:
            self._banner_basis = None
            self.set_banner(None)

    def _show_failure(self, title: str, error: DbInspectError) -> None:
        self.app.push_screen(ReportScreen(title, failure_report(error)))

    # Keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The cancel key shows (in the footer) and works only while a run is in progress.
        if action == "cancel_run":
            return self.running and not self._cancelling
        return True

    def action_migrate(self, kind: str) -> None:
        """Work out what `kind` (next, all, revert, target) would run, then ask to confirm."""
        session = self.session
        if session.read_only_reason is not None:
            # The keys stay live so that pressing one says why nothing happens.
            self.notify(
                f"Read-only ({session.read_only_reason}): migrations cannot run.",
                severity="warning",
                markup=False,
            )
            return
        if self.running:
            self.notify(BUSY, severity="warning", markup=False)
            return
        reading = self._reading
        if reading is None or reading.statuses is None:
            error = reading.error if reading is not None else None
            self.notify(error or "No migrations to run.", severity="warning", markup=False)
            return
        selected = self.selected
        self.plan_migration(kind, selected.version if selected else None)

    def action_cancel_run(self) -> None:
        """Stop the run: the migration in flight is rolled back, the ones before it stay."""
        if self._engine is None or self._cancelling:
            return
        self._cancelling = True
        self._engine.cancel()
        self.query_one(RunProgress).cancelling()
        self.refresh_bindings()

    # Planning: a dry run, so the confirmation shows exactly what will run

    @work(exclusive=True, group="migration-plan")
    async def plan_migration(self, kind: str, selected: int | None) -> None:
        """Dry-run the action so the confirmation shows exactly what will run."""
        session, statuses = self.session, self._statuses
        action = choose_action(kind, selected, statuses)
        if isinstance(action, str):
            self.notify(action)
            return
        try:
            plan = await make_plan(
                action, statuses, session.url, session.folder, session.settings.sqlx
            )
        except DbInspectError as error:
            after = await read_statuses(session)
            self.post_message(MigrationsFailed(action.title, error, after))
            return
        if not plan.steps:
            self.notify("Nothing to run.")
            return
        self.post_message(PlanReady(plan))

    @on(PlanReady)
    def _confirm_plan(self, message: PlanReady) -> None:
        plan = message.plan

        def answered(run: bool | None) -> None:
            if not run:
                return
            if self.running:  # a second confirmation cannot start a second run
                self.notify(BUSY, severity="warning", markup=False)
                return
            self._start_run(plan)

        body = confirmation_body(plan, app=self.app)
        self.app.push_screen(ConfirmScreen(plan.title + "?", body), answered)

    # Running: its own worker group, so that nothing but the cancel key stops it

    def _start_run(self, plan: MigrationPlan) -> None:
        self._current_run, self._progress, self._cancelling = plan, RunTracker(), False
        self.set_banner(None)  # about to be replaced by this run's outcome
        self._banner_basis = None
        self.query_one(RunProgress).start(plan, self._progress)
        self.refresh_bindings()
        self.run_plan(plan)

    @work(group="migration-run")
    async def run_plan(self, plan: MigrationPlan) -> None:
        """Run a confirmed plan through the migration engine, reporting progress."""
        session, tracker = self.session, self._progress

        def progressed(event: MigrationEvent) -> None:
            tracker.follow(event)
            self.post_message(MigrationProgressed(event))

        # The Query pane's result would hold its tables against the migrations' DDL.
        from dbinspect.tui.query.pane import close_consoles

        await close_consoles(self.app, "for the migration run")
        engine = asyncio.create_task(
            run_confirmed(plan, session.url, session.folder, session.settings.sqlx, progressed)
        )
        self._engine = engine
        outcome: MigrationsFinished | MigrationsFailed | MigrationsCancelled
        try:
            results = await engine
        except DbInspectError as error:
            outcome = MigrationsFailed(plan.title, error, await read_statuses(session))
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # this worker itself is stopped (the app closes): nothing to show
            # Only the engine was cancelled, by the cancel key: its rollback is done.
            done, in_flight = tuple(tracker.done), tracker.in_flight
            after = await read_statuses(session)
            outcome = MigrationsCancelled(plan, done, in_flight, after)
        else:
            outcome = MigrationsFinished(plan, results, await read_statuses(session))
        finally:
            self._engine = None
        self.post_message(outcome)

    @on(MigrationProgressed)
    def _progressed(self, message: MigrationProgressed) -> None:
        self.query_one(RunProgress).advance(message.event)

    def _end_run(self) -> None:
        self._current_run, self._engine, self._cancelling = None, None, False
        self.query_one(RunProgress).stop()
        self.refresh_bindings()

    # Outcomes: each also bubbles up to the screen, which rereads the other panes

    @on(MigrationsFinished)
    def _finished(self, message: MigrationsFinished) -> None:
        self._end_run()
        summary = finished_summary(message.plan, message.results)
        self._report(Text(summary), error=False, after=message.after)
        self.notify(summary, markup=False)

    @on(MigrationsCancelled)
    def _cancelled(self, message: MigrationsCancelled) -> None:
        self._end_run()
        # Names a description from a file name: escaped for the banner and the notification.
        summary = escape_controls(
            cancelled_summary(message.plan, message.done, message.rolled_back)
        )
        self._report(Text(summary), error=True, after=message.after)
        self.notify(summary, title="Cancelled", severity="warning", markup=False)

    @on(MigrationsFailed)
    def _failed(self, message: MigrationsFailed) -> None:
        self._end_run()
        line = Text(f"{message.title} failed: ") + safe_text(message.error.one_line())
        self._report(line, error=True, after=message.after)
        self._show_failure(f"{message.title} failed", message.error)
