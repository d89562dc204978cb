"""Provides the Help pane: shell commands that do what the app does, filled in."""

from __future__ import annotations

import shlex

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dbinspect.tui.panes.common import heading
from dbinspect.tui.sanitize import escape_controls


def commands(
    url: str, folder: str, path: str | None, explicit: bool = True
) -> list[tuple[str, str, str]]:
    """(what, dbinspect command, sqlx-cli or sqlite3 equivalent) rows.

    `explicit`: the folder was configured, so opening the app applies it (else it is only shown).
    """
    u, s = shlex.quote(url), shlex.quote(folder)
    opts = f"--database-url {u} --source {s}"
    sqlite3 = f"sqlite3 {shlex.quote(path)}" if path else "sqlite3"
    return [
        ("Open this app", f"dbinspect {u} --source {s}" if explicit else f"dbinspect {u}", "-"),
        ("... without migrating", f"dbinspect {u} --no-migrate --read-only", "-"),
        ("Connection facts", f"dbinspect info {u}", f"{sqlite3} '.dbinfo'"),
        ("Schema as SQL", f"dbinspect schema {u}", f"{sqlite3} .schema"),
        ("Migration status", f"dbinspect migrate info {opts}", f"sqlx migrate info {opts}"),
        ("Apply next (a)", f"dbinspect migrate run {opts} --target-version V", "-"),
        ("Apply all (A)", f"dbinspect migrate run {opts}", f"sqlx migrate run {opts}"),
        ("Revert last (r)", f"dbinspect migrate revert {opts}", f"sqlx migrate revert {opts}"),
        (
            "Migrate to V (t)",
            f"dbinspect migrate run|revert {opts} --target-version V",
            f"sqlx migrate run|revert {opts} --target-version V",
        ),
        ("Dry run", f"dbinspect migrate run {opts} --dry-run",
         f"sqlx migrate run {opts} --dry-run"),
        ("New migration", f"dbinspect migrate add -r NAME --source {s}",
         f"sqlx migrate add -r NAME --source {s}"),
        ("Accept an edited file", f"dbinspect migrate restamp V {opts}", "-"),
    ]  # fmt: skip


class HelpPane(VerticalScroll):
    """The commands, with the current (masked) URL and migrations folder filled in."""

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="help-commands")

    def show(self, url: str, folder: str, path: str | None, *, explicit: bool = True) -> None:
        """Fill the commands in for this database and folder."""
        table = Table(box=None, show_edge=False, padding=(0, 1), expand=False)
        table.add_column("To", style="bold", no_wrap=True)
        table.add_column("dbinspect", style="cyan")
        table.add_column("sqlx-cli / sqlite3", style="green")
        for what, ours, theirs in commands(url, folder, path, explicit):
            table.add_row(Text(what), Text(escape_controls(ours)), Text(escape_controls(theirs)))
        intro = Text(
            "The same work from a shell. Keys: 1-6 panes, / filter schema, "
            "a A r t migrations, R refresh, ctrl+p palette, ? keys, q quit."
        )
        self.query_one("#help-commands", Static).update(
            Group(heading("Shell commands"), intro, Text(""), table)
        )
