"""Provides `DbInspectApp`: global keys, the command palette and the main screen."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.notifications import SeverityLevel
from textual.screen import Screen

from dbinspect.tui.sanitize import escape_controls
from dbinspect.tui.screens.main import PANES, MainScreen
from dbinspect.tui.session import Session

__all__ = ["DbInspectApp", "Session"]

HERE = Path(__file__).resolve().parent


def data_commands() -> type[Provider]:
    """The Data pane's palette commands, imported when the palette first opens."""
    from dbinspect.tui.data import DataCommands

    return DataCommands


def query_commands() -> type[Provider]:
    """The Query pane's palette commands, imported when the palette first opens."""
    from dbinspect.tui.query.commands import QueryCommands

    return QueryCommands


class DbInspectApp(App[None]):
    """The terminal app on one database."""

    TITLE = "dbinspect"
    # One of the forms App.CSS_PATH takes, written out: Textual names it in a private module.
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        HERE / "app.tcss",
        HERE / "screens" / "main.tcss",
        HERE / "screens" / "dialogs.tcss",
        *sorted((HERE / "panes").glob("*.tcss")),
    ]
    COMMANDS = App.COMMANDS | {data_commands, query_commands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "toggle_keys", "Keys", key_display="?"),
        Binding("ctrl+p", "command_palette", "Palette", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a notification, escaped: messages quote errors that name files and tables.

        Every widget's and screen's `notify` lands here, so no caller can forget it.
        """
        super().notify(
            escape_controls(message),
            title=escape_controls(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def on_ready(self) -> None:
        """The first frame is on screen (Textual's `Ready`): tell the launch."""
        if self.session.on_first_frame is not None:
            self.session.on_first_frame()

    def get_default_screen(self) -> Screen[Any]:
        # The main screen is the default one, so the first frame already shows the panes.
        return MainScreen(self.session)

    def action_toggle_keys(self) -> None:
        """Show or hide the panel that lists every key of the focused view."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if not isinstance(screen, MainScreen):
            return
        for number, (pane_id, title) in enumerate(PANES, 1):
            yield SystemCommand(
                f"Show {title}",
                f"Switch to the {title} pane (key {number})",
                lambda pane_id=pane_id: screen.action_show_pane(pane_id),
            )
        yield SystemCommand("Refresh", "Reread everything from the database (R)", screen.reload)
        yield SystemCommand(
            "Filter schema", "Filter the schema tree by name (/)", screen.action_filter_schema
        )
        from dbinspect.tui.migration_runs import CANCEL_KEY
        from dbinspect.tui.panes.migrations import MigrationsPane

        # None for a moment after the first frame, until the pane is built.
        migrations = screen.pane("migrations", MigrationsPane)
        if migrations is not None and migrations.running:
            yield SystemCommand(
                "Cancel the migration run",
                f"Roll back the migration in flight; the ones before it stay ({CANCEL_KEY})",
                migrations.action_cancel_run,
            )
        if migrations is not None and not self.session.read_only:
            for kind, title, key in (
                ("next", "Apply next migration", "a"),
                ("all", "Apply all pending migrations", "A"),
                ("revert", "Revert last migration", "r"),
                ("target", "Migrate to the selected version", "t"),
            ):
                yield SystemCommand(
                    title,
                    f"Migrations pane action ({key}); asks to confirm first",
                    lambda kind=kind: migrations.action_migrate(kind),
                )
        from dbinspect.tui.operations import operation_commands

        yield from operation_commands(self.session, screen)
