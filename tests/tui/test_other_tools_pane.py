"""Pilot tests: other tools' tracking tables in the Migrations and Metadata panes."""

from __future__ import annotations

from pathlib import Path

from foreign_ddl import SQLITE

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.panes.other_tools import OtherTools
from tui.helpers import SIZE, OpenApp, plain, settle, wait_until

EVIL = "\x1b[31m[bold]v9[/bold]"


def add_other_tools(path: Path) -> None:
    """A dirty golang-migrate row, a failed Flyway row and a knex lock, beside sqlx's table."""
    conn = sqlite3.connect(path)
    conn.executescript(SQLITE["golang-migrate"] + SQLITE["flyway"] + SQLITE["knex"])
    conn.execute("INSERT INTO schema_migrations VALUES (7, 1)")
    conn.execute(
        "INSERT INTO flyway_schema_history VALUES "
        "(1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'me', '2024-01-01 10:00:00', 3, 1), "
        "(2, '2', ?, 'SQL', 'V2__users.sql', 2, 'me', '2024-01-02 10:00:00', 3, 0)",
        (EVIL,),
    )
    conn.execute("INSERT INTO knex_migrations_lock (is_locked) VALUES (1)")
    conn.commit()
    conn.close()


async def test_migrations_pane_shows_other_tools(demo_db: Path, open_app: OpenApp) -> None:
    add_other_tools(demo_db)
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        others = app.screen.query_one("#migrations-other", OtherTools)
        await wait_until(pilot, lambda: others.histories, "the other tools' histories")
        await settle(pilot)
        assert not others.has_class("-hidden")
        shown = plain(others.query_one("Static"))
        assert "Other migration tools (read-only)" in shown
        assert "golang-migrate (schema_migrations): head 7, dirty" in shown
        assert "7/dirty" in shown
        assert "Flyway (flyway_schema_history): head 1, 1 applied, failed" in shown
        assert "2/failed \\x1b[31m[bold]v9[/bold]" in shown  # escaped, not interpreted
        assert "lock: knex_migrations_lock: index 1, is_locked = 1" in shown
        # sqlx's own migrations are still the table's rows.
        assert [s.status for s in app.screen.query_one("MigrationsPane").statuses] == [  # type: ignore[attr-defined]
            "applied"
        ] * 5

        await pilot.press("2")
        summary = app.screen.query_one("#metadata-other", OtherTools)
        await wait_until(pilot, lambda: summary.histories, "the Metadata pane's summary")
        await settle(pilot)
        lines = plain(summary.query_one("Static")).splitlines()
        assert lines[1:4] == [
            "golang-migrate (schema_migrations): head 7, dirty",
            "Flyway (flyway_schema_history): head 1, 1 applied, failed",
            "knex (knex_migrations): nothing applied, 1 lock row",
        ]


async def test_no_other_tools_stays_hidden(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        others = app.screen.query_one("#migrations-other", OtherTools)
        assert others.histories == [] and others.has_class("-hidden")
