"""Provides the Help pane: shell commands that do what the app does, filled in.

Every command is printed ready to run from the directory the app was started in: the
database as a `sqlite:` URL (sqlx-cli parses `--database-url` as a URL, so a bare path
fails there with "relative URL without a base"), and the versions of the migration under
the cursor rather than placeholders.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import quote

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dbinspect.migrate import MigrationStatus
from dbinspect.tui.migration_plans import Action, choose_action
from dbinspect.tui.panes.common import heading
from dbinspect.tui.sanitize import escape_controls
from dbinspect.url import DatabaseUrl, without_password

NO_EQUIVALENT = "-"
URL_PATH_SAFE = "/:@!$&'()*+,;="
"""Kept as they are in a `sqlite:` URL's path; `%`, `?`, `#`, spaces and the rest are encoded,
as sqlx and dbinspect percent-decode the path and split the query off at the first `?`."""
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
FACTS_SQL = (
    "SELECT * FROM pragma_journal_mode, pragma_page_size, pragma_page_count, pragma_encoding,"
    " pragma_user_version"
)
"""The core of what `dbinspect info` reports, from any sqlite3 shell (`.dbinfo` needs the
`sqlite_dbpage` table, which Debian's shell is built without)."""


PG_FACTS_SQL = (
    "SELECT version(), current_user, current_database(), current_setting('search_path'), "
    "pg_size_pretty(pg_database_size(current_database()))"
)
"""The core of what `dbinspect info` reports on PostgreSQL, from psql."""


def shell_url(url: DatabaseUrl) -> str:
    """The URL as both dbinspect and sqlx-cli take it: a bare path becomes `sqlite:PATH`.

    A PostgreSQL URL is printed without its password, never with `***` in its place: the
    command then runs as printed, with the password from PGPASSWORD or ~/.pgpass, as
    libpq (dbinspect, psql) and sqlx-cli read them.
    """
    if url.backend == "postgres":
        return without_password(url.raw.strip())
    if url.path is None or _SCHEME.match(url.raw.strip()):
        return url.masked
    return "sqlite:" + quote(str(url.path), safe=URL_PATH_SAFE)


def sqlite3_target(path: str) -> str:
    """`path` as the sqlite3 shell's file argument: never read as an option or a URI."""
    if path.startswith("-") or path.startswith("file:"):
        path = "./" + path
    return shlex.quote(path)


@dataclass(frozen=True, slots=True)
class HelpContext:
    """What the commands are filled in with."""

    url: str
    """The database URL as the commands print it (see `shell_url`)."""
    folder: str
    """The migrations folder, as the commands print it."""
    path: str | None
    """The SQLite file for the sqlite3 shell; None when there is none (in memory)."""
    explicit: bool = True
    """The folder was configured, so opening the app applies it (else it is only shown)."""
    statuses: list[MigrationStatus] = field(default_factory=list)
    selected: MigrationStatus | None = None
    """The migration under the cursor in the Migrations pane."""


def commands(context: HelpContext) -> list[tuple[str, str, str]]:
    """(what, dbinspect command, sqlx-cli or sqlite3 equivalent) rows.

    A row whose action has nothing to do now shows why, in parentheses, instead of a command.
    """
    u, s = shlex.quote(context.url), shlex.quote(context.folder)
    opts = f"--database-url {u} --source {s}"
    sqlite3 = sqlite3_target(context.path) if context.path else None
    selected = context.selected.version if context.selected else None
    if context.url.startswith(("postgres:", "postgresql:")):
        facts = f"psql {u} -c {shlex.quote(PG_FACTS_SQL)}"
        schema = f"pg_dump --schema-only {u}"
    else:
        facts = f"sqlite3 -line {sqlite3} {shlex.quote(FACTS_SQL)}" if sqlite3 else NO_EQUIVALENT
        schema = f"sqlite3 {sqlite3} .schema" if sqlite3 else NO_EQUIVALENT
    return [
        ("Open this app",
         f"dbinspect {u} --source {s}" if context.explicit else f"dbinspect {u}", NO_EQUIVALENT),
        ("... without migrating", f"dbinspect {u} --no-migrate --read-only", NO_EQUIVALENT),
        ("Connection facts", f"dbinspect info {u}", facts),
        ("Schema as SQL", f"dbinspect schema {u}", schema),
        ("Migration status", f"dbinspect migrate info {opts}", f"sqlx migrate info {opts}"),
        _planned("Apply next (a)", choose_action("next", selected, context.statuses), opts),
        ("Apply all (A)", f"dbinspect migrate run {opts}", f"sqlx migrate run {opts}"),
        ("Revert last (r)", f"dbinspect migrate revert {opts}", f"sqlx migrate revert {opts}"),
        _planned(
            f"Migrate to {selected} (t)" if selected is not None else "Migrate to (t)",
            choose_action("target", selected, context.statuses),
            opts,
        ),
        ("Dry run", f"dbinspect migrate run {opts} --dry-run",
         f"sqlx migrate run {opts} --dry-run"),
        ("New migration", f"dbinspect migrate add -r NAME --source {s}",
         f"sqlx migrate add -r NAME --source {s}"),
        _restamp(context.selected, opts),
    ]  # fmt: skip


def _planned(what: str, action: Action | str, opts: str) -> tuple[str, str, str]:
    """The command for an action the Migrations pane would run now, or why there is none."""
    if isinstance(action, str):
        return what, f"({action.rstrip('.')})", NO_EQUIVALENT
    verb = "run" if action.direction == "up" else "revert"
    target = f" --target-version {action.target}" if action.target is not None else ""
    return (
        what,
        f"dbinspect migrate {verb} {opts}{target}",
        f"sqlx migrate {verb} {opts}{target}",
    )


def _restamp(selected: MigrationStatus | None, opts: str) -> tuple[str, str, str]:
    what = "Accept an edited file"
    if selected is None or selected.applied is None or selected.migration is None:
        return what, "(select an applied migration)", NO_EQUIVALENT
    return what, f"dbinspect migrate restamp {selected.version} {opts}", NO_EQUIVALENT


class HelpPane(VerticalScroll):
    """The commands, with the current (masked) URL, folder and selected migration filled in."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._filled_in: HelpContext | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="help-commands")

    @property
    def command_context(self) -> HelpContext | None:
        """What the commands shown are filled in with."""
        return self._filled_in

    def show(self, url: str, folder: str, path: str | None, *, explicit: bool = True) -> None:
        """Fill the commands in for this database and folder."""
        previous = self._filled_in
        self._filled_in = HelpContext(
            url,
            folder,
            path,
            explicit,
            previous.statuses if previous else [],
            previous.selected if previous else None,
        )
        self._render_commands()

    def show_selection(
        self, statuses: list[MigrationStatus], selected: MigrationStatus | None
    ) -> None:
        """Fill the migration commands in for these statuses and the migration under the cursor."""
        if self._filled_in is None:
            return
        context = self._filled_in
        self._filled_in = HelpContext(
            context.url, context.folder, context.path, context.explicit, statuses, selected
        )
        self._render_commands()

    def _render_commands(self) -> None:
        if self._filled_in is None:
            return
        table = Table(box=None, show_edge=False, padding=(0, 1), expand=False)
        table.add_column("To", style="bold", no_wrap=True)
        # Folded, never cut short: a command is shown whole, to be run as printed.
        table.add_column("dbinspect", style="cyan", overflow="fold")
        table.add_column("sqlx-cli / sqlite3", style="green", overflow="fold")
        for what, ours, theirs in commands(self._filled_in):
            table.add_row(
                Text(escape_controls(what)),
                Text(escape_controls(ours)),
                Text(escape_controls(theirs)),
            )
        intro = Text(
            "The same work from a shell, for the migration selected in the Migrations pane."
            " Keys: 1-7 panes (7: SQL), / filter schema, j k g G move, a A r t migrations,"
            " R refresh, ctrl+p palette, ? keys, q quit."
        )
        self.query_one("#help-commands", Static).update(
            Group(heading("Shell commands"), intro, Text(""), table)
        )
