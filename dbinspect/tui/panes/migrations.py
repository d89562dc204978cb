"""Provides the Migrations pane: every migration's status, its SQL, and the keys to run them."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from dbinspect.migrate import MigrationEvent, MigrationStatus
from dbinspect.tui.panes.common import heading
from dbinspect.tui.sanitize import escape_controls, escape_text, safe_text

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


def sql_block(title: str, sql: str | None) -> RenderableType:
    """A heading and highlighted SQL (or a note that there is none)."""
    if sql is None:
        return Group(heading(title), Text("none (irreversible)", style="dim"), Text(""))
    from rich.syntax import Syntax  # Pygments loads when SQL is first shown.

    code = Syntax(
        escape_controls(sql, keep="\n\t").rstrip() or "-- empty",
        "sql",
        theme="monokai",
        word_wrap=True,
        background_color="default",
    )
    return Group(heading(title), code, Text(""))


class MigrationsPane(Vertical):
    """The migrations table; `a`, `A`, `r`, `t` apply, apply all, revert, migrate to."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "screen.migrate('next')", "Apply next"),
        Binding("A", "screen.migrate('all')", "Apply all"),
        Binding("r", "screen.migrate('revert')", "Revert last"),
        Binding("t", "screen.migrate('target')", "Migrate to"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._statuses: list[MigrationStatus] = []

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="migrations-banner", classes="-hidden")
        yield DataTable(id="migrations-table", cursor_type="row", zebra_stripes=True)
        yield ProgressBar(id="migrations-progress", show_eta=False, classes="-hidden")
        with VerticalScroll(id="migrations-sql"):
            yield Static(Text(""), id="migrations-sql-text")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("Version", "Description", "Status", "Applied at", "Duration", "Reversible"):
            table.add_column(label, key=label.lower())

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
                safe_text(status.description, max_chars=60),
                Text(status.status, style=STATUS_STYLES[status.status]),
                safe_text(applied.installed_on if applied else ""),
                format_duration(applied.execution_time) if applied else "",
                "yes" if reversible else "no",
                key=str(status.version),
            )
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
        versions = [s.version for s in self._statuses]
        if previous in versions:
            table.move_cursor(row=versions.index(previous))
        self._show_sql()

    @on(DataTable.RowHighlighted, "#migrations-table")
    def _row_highlighted(self) -> None:
        self._show_sql()

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
                sql_block(f"up: {migration.path.name}", migration.up_sql),
                sql_block(
                    f"down: {migration.down_path.name}" if migration.down_path else "down",
                    migration.down_sql,
                ),
            )
        self.query_one("#migrations-sql-text", Static).update(Group(title, Text(""), body))

    def start_progress(self, total: int) -> None:
        """Show the progress bar for a plan of `total` migrations."""
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=0)
        bar.remove_class("-hidden")

    def advance(self, event: MigrationEvent) -> None:
        """Move the progress bar on when a migration finishes."""
        bar = self.query_one(ProgressBar)
        if event.kind == "finished":
            bar.update(total=event.total, progress=event.position + 1)

    def stop_progress(self) -> None:
        """Hide the progress bar."""
        self.query_one(ProgressBar).add_class("-hidden")
