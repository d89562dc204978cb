"""Provides the Connection pane: where the database is and how it is opened."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dbinspect.migrate import MigrationStatus
from dbinspect.models import DatabaseFacts
from dbinspect.tui.panes.common import facts_table, human_size


class ConnectionPane(VerticalScroll):
    """URL (masked), engine version, file facts, versions and the access mode."""

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="connection-facts")

    def show(
        self,
        *,
        url: str,
        facts: DatabaseFacts,
        path_label: str | None,
        statuses: list[MigrationStatus] | None,
        read_only: bool,
    ) -> None:
        """Render the facts."""
        applied = [s for s in statuses or [] if s.applied is not None and s.applied.success]
        latest = (
            f"{applied[-1].version} {applied[-1].description}"
            if applied
            else ("none" if statuses is not None else "unknown (no migrations folder)")
        )
        size = human_size(facts.size_bytes)
        if facts.wal_size_bytes is not None:
            size += f" (+ {human_size(facts.wal_size_bytes)} in -wal)"
        mode = Text("read-only", style="bold yellow") if read_only else Text("read-write")
        if facts.server is not None:
            on_server = server_rows(url, facts, latest, read_only)
            self.query_one("#connection-facts", Static).update(facts_table(on_server))
            return
        rows: list[tuple[str, object]] = [
            ("URL", url),
            ("Backend", f"SQLite {facts.sqlite_version} ({facts.sqlite_library} library)"),
            ("Extensions", ", ".join(facts.extensions) or "none"),
            ("File", path_label or facts.path or ":memory:"),
            ("Size", size),
            ("Owner", facts.owner or "-"),
            ("Permissions", facts.permissions or "-"),
            ("Journal mode", facts.journal_mode),
            ("Page size", f"{facts.page_size} bytes"),
            ("Encoding", facts.encoding),
            ("user_version", facts.user_version),
            ("Schema version", facts.schema_version),
            ("application_id", facts.application_id),
            ("Latest migration", latest),
            ("Access", mode),
        ]
        self.query_one("#connection-facts", Static).update(facts_table(rows))


def server_rows(
    url: str, facts: DatabaseFacts, latest: str, read_only: bool
) -> list[tuple[str, object]]:
    """The facts of a PostgreSQL server and of this session on it."""
    server = facts.server
    assert server is not None
    recorded = server.latest_migration
    if recorded is not None:
        latest = f"{recorded.version} {recorded.description}" + (
            "" if recorded.success else " (failed)"
        )
    # The session is read-only whatever the server says; this is what the server allows.
    state = Text(server.read_only_state)
    if server.in_recovery or server.read_only_default:
        state.stylize("bold yellow")
    ssl = (
        f"yes ({server.ssl_version})"
        if server.ssl and server.ssl_version
        else ("yes" if server.ssl else "no")
    )
    return [
        ("URL", url),
        ("Backend", f"PostgreSQL {server.server_version}"),
        ("Server", f"{server.host}:{server.port}"),
        ("Database", server.database),
        ("User", server.user),
        ("SSL", ssl),
        ("search_path", f"{server.search_path} ({', '.join(server.schemas_searched) or 'none'})"),
        ("Size", human_size(facts.size_bytes)),
        ("Encoding", server.encoding),
        ("Time zone", server.time_zone),
        ("Server state", state),
        ("Latest migration", latest),
        ("Access", Text("read-only", style="bold yellow") if read_only else Text("read-write")),
    ]
