"""Pilot tests of the Migrations pane actions and of migrations applied on launch."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import TabbedContent

from dbinspect.config import resolve_settings
from dbinspect.errors import ConnectError, MigrationFailedError
from dbinspect.migrate import run_migrations
from dbinspect.ops.demo import SAMPLE_MIGRATIONS
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui import launch
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.launch import apply_launch_migrations
from dbinspect.tui.messages import MigrationProgressed
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.screens.dialogs import ConfirmScreen, ReportScreen
from dbinspect.url import parse_url
from tui.helpers import SIZE, OpenApp, applied_versions, plain, settle


@pytest.fixture
async def half_migrated(workdir: Path) -> Path:
    """`app.db` with migrations 1 and 2 of the sample set applied."""
    path = workdir / "app.db"
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS, target_version=2)
    return path


async def confirm_only(pilot: Pilot[None], key: str) -> str:
    """Press `key`, check a confirmation appears, accept it; returns what it showed."""
    await pilot.press(key)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen)
    shown = plain(screen.query_one("#dialog-body Static"))
    await pilot.press("y")
    return shown


async def confirm(pilot: Pilot[None], key: str) -> str:
    """`confirm_only`, then wait for the run to end."""
    shown = await confirm_only(pilot, key)
    await settle(pilot)
    return shown


async def test_apply_next_all_revert_and_target(half_migrated: Path, open_app: OpenApp) -> None:
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        pane = app.screen.query_one(MigrationsPane)
        assert [s.status for s in pane.statuses] == ["applied"] * 2 + ["pending"] * 3

        shown = await confirm(pilot, "a")
        assert "3 up: create documents and decisions" in shown
        assert "CREATE TABLE document_references" in shown
        assert applied_versions(half_migrated) == [1, 2, 3]
        assert "Applied 1 migration(s): 3." in plain(app.screen.query_one("#migrations-banner"))

        shown = await confirm(pilot, "A")
        assert "This will apply 2 migration(s)" in shown
        assert applied_versions(half_migrated) == [1, 2, 3, 4, 5]
        assert [s.status for s in pane.statuses] == ["applied"] * 5
        assert app.screen.query_one("#migrations-run").has_class("-hidden")

        shown = await confirm(pilot, "r")
        assert "5 down: add project updated at trigger" in shown
        assert "DROP TRIGGER" in shown
        assert applied_versions(half_migrated) == [1, 2, 3, 4]

        pane.table.move_cursor(row=1)  # version 2
        shown = await confirm(pilot, "t")
        assert "This will revert 2 migration(s)" in shown
        assert applied_versions(half_migrated) == [1, 2]

        pane.table.move_cursor(row=3)  # version 4
        await confirm(pilot, "t")
        assert applied_versions(half_migrated) == [1, 2, 3, 4]
        # Other panes were refreshed: the tree lists the tables migration 3 created.
        assert app.screen.query_one(SchemaTree).select_object("decisions")


async def test_cancelled_confirmation_changes_nothing(
    half_migrated: Path, open_app: OpenApp
) -> None:
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert applied_versions(half_migrated) == [1, 2]


async def test_read_only_disables_every_write_action(
    half_migrated: Path, open_app: OpenApp
) -> None:
    async with open_app(half_migrated, read_only=True) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        for key in "aArt":
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            # Each key says why it did nothing, rather than nothing at all.
            said = [n.message for n in app._notifications]
            assert said and "Read-only (opened with --read-only)" in said[-1]
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Apply all pending migrations" not in titles
        assert "read-only" in plain(app.screen.query_one("#connection-facts"))
    assert applied_versions(half_migrated) == [1, 2]


def write_failing_folder(folder: Path) -> None:
    folder.mkdir()
    (folder / "0001_first.up.sql").write_text("CREATE TABLE first (id INTEGER PRIMARY KEY);\n")
    (folder / "0001_first.down.sql").write_text("DROP TABLE first;\n")
    (folder / "0002_broken.sql").write_text(
        "CREATE TABLE second (id INTEGER);\nINSERT INTO second VALUES (1);\n"
        "INSERT INTO no_such_table VALUES (2);\n"
    )


async def test_failing_migration_on_launch_is_reported(workdir: Path, open_app: OpenApp) -> None:
    write_failing_folder(workdir / "broken")
    settings = resolve_settings(database="app.db", source="broken", cwd=workdir)
    assert settings.url is not None and settings.migrations.explicit
    outcome = await apply_launch_migrations(settings, settings.url)
    assert isinstance(outcome.error, MigrationFailedError)
    assert applied_versions(workdir / "app.db") == [1]
    async with (
        open_app(workdir / "app.db", source="broken", outcome=outcome) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        report = plain(app.screen.query_one("#dialog-body Static"))
        assert "0002_broken.sql" in report
        assert "no_such_table" in report
        assert "The database is at version 1." in report
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "migrations"
        banner = plain(app.screen.query_one("#migrations-banner"))
        assert "Migrations on launch failed" in banner
        pane = app.screen.query_one(MigrationsPane)
        assert [s.status for s in pane.statuses] == ["applied", "pending"]
    # The failed migration left no trace: its first two statements were rolled back.
    conn = sqlite3.connect(workdir / "app.db")
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    conn.close()
    assert "first" in names and "second" not in names


async def test_launch_applies_an_explicit_folder_and_shows_it(
    workdir: Path, open_app: OpenApp
) -> None:
    settings = resolve_settings(database="new.db", source="migrations", cwd=workdir)
    assert settings.url is not None
    outcome = await apply_launch_migrations(settings, settings.url)
    assert [r.version for r in outcome.applied] == [1, 2, 3, 4, 5]
    async with (
        open_app(workdir / "new.db", outcome=outcome) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "migrations"
        banner = plain(app.screen.query_one("#migrations-banner"))
        assert "applied 5 (1, 2, 3, 4, 5)" in banner


def test_a_present_migrations_folder_is_not_explicit(workdir: Path) -> None:
    settings = resolve_settings(database="demo.db", cwd=workdir)
    assert settings.migrations.path == workdir / "migrations"
    assert not settings.migrations.explicit  # shown in the pane, never applied on launch


def test_launch_on_a_missing_file_fails_before_the_app(workdir: Path) -> None:
    settings = resolve_settings(database="missing.db", cwd=workdir)
    with pytest.raises(ConnectError, match="no such database file"):
        launch(settings, migrate_on_launch=True)
    assert not (workdir / "missing.db").exists()


async def test_an_edited_applied_file_is_refused_with_a_report(
    half_migrated: Path, open_app: OpenApp
) -> None:
    edited = half_migrated.parent / "migrations" / "0001_create_workspaces_and_sessions.up.sql"
    edited.write_text(edited.read_text() + "\n-- edited\n")
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "A")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        report = plain(app.screen.query_one("#dialog-body Static"))
        assert "Nothing was run; the database is unchanged." in report
        assert "was changed after it was applied" in report
        await pilot.press("escape")
        await settle(pilot)
        pane = app.screen.query_one(MigrationsPane)
        assert pane.statuses[0].status == "modified"
    assert applied_versions(half_migrated) == [1, 2]


class StartWatch:
    """A `message_hook` that lets a test wait until a given migration has started running."""

    def __init__(self) -> None:
        self._started: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def __call__(self, message: Message) -> None:
        if isinstance(message, MigrationProgressed) and message.event.kind == "started":
            self._started[message.event.version].set()

    async def wait(self, version: int) -> None:
        await asyncio.wait_for(self._started[version].wait(), timeout=10)


def hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another program's write transaction on `path`: a migration run waits for it."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def notifications(app: DbInspectApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_start_key_pressed_mid_run_leaves_the_run_alone(
    half_migrated: Path, open_app: OpenApp
) -> None:
    watch = StartWatch()
    async with (
        open_app(half_migrated) as app,
        app.run_test(size=SIZE, message_hook=watch) as pilot,
    ):
        await settle(pilot)
        main = app.screen
        await pilot.press("5", "A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        other = hold_write_lock(half_migrated)  # the run stays in flight until released
        try:
            await pilot.press("y")
            await watch.wait(3)
            progress = plain(app.screen.query_one("#migrations-progress-label"))
            assert "press x to cancel" in progress
            assert any(b.binding.key == "x" for b in app.screen.active_bindings.values())
            for key in "aArt":
                await pilot.press(key)
                assert not isinstance(app.screen, ConfirmScreen)
                assert notifications(app)[-1] == (
                    "A migration run is in progress; press x to cancel it."
                )
            commands = {c.title: c for c in app.get_system_commands(main)}
            assert "Cancel the migration run" in commands
            commands["Apply all pending migrations"].callback()
            assert notifications(app)[-1].startswith("A migration run is in progress")
            assert not isinstance(app.screen, ConfirmScreen)
        finally:
            other.rollback()
            other.close()
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert applied_versions(half_migrated) == [1, 2, 3, 4, 5]
        banner = plain(app.screen.query_one("#migrations-banner"))
        assert "Applied 3 migration(s): 3, 4, 5." in banner
        assert app.screen.query_one("#migrations-run").has_class("-hidden")
        assert not any(b.binding.key == "x" for b in app.screen.active_bindings.values())


SPIN = (
    "CREATE TABLE spin_marker (n);\n"
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)\n"
    "INSERT INTO spin_marker SELECT count(*) FROM c;\n"
)
"""A migration that runs until it is interrupted."""


async def test_the_cancel_key_rolls_back_the_migration_in_flight_and_says_so(
    half_migrated: Path, open_app: OpenApp
) -> None:
    (half_migrated.parent / "migrations" / "0006_spin_forever.sql").write_text(SPIN)
    watch = StartWatch()
    async with (
        open_app(half_migrated) as app,
        app.run_test(size=SIZE, message_hook=watch) as pilot,
    ):
        await settle(pilot)
        await pilot.press("5")
        shown = await confirm_only(pilot, "A")
        assert "This will apply 4 migration(s)" in shown
        await watch.wait(6)
        await pilot.press("x")
        await settle(pilot)
        said = (
            "Apply all pending migrations cancelled: applied 3, 4, 5 before the cancel; "
            "6 spin forever was rolled back."
        )
        assert notifications(app)[-1] == said
        assert said in plain(app.screen.query_one("#migrations-banner"))
        assert app.screen.query_one("#migrations-run").has_class("-hidden")
        pane = app.screen.query_one(MigrationsPane)
        assert [s.status for s in pane.statuses] == ["applied"] * 5 + ["pending"]
    assert applied_versions(half_migrated) == [1, 2, 3, 4, 5]
    conn = sqlite3.connect(half_migrated)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    conn.close()
    assert "spin_marker" not in names  # its first statement went with the rollback


async def test_a_file_added_after_the_confirmation_is_not_applied(
    half_migrated: Path, open_app: OpenApp
) -> None:
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5", "A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        added = half_migrated.parent / "migrations" / "0006_added_meanwhile.sql"
        added.write_text("CREATE TABLE added_meanwhile (x);\n")
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen)
        report = plain(app.screen.query_one("#dialog-body Static"))
        assert "the migrations changed since you confirmed" in report
        assert "confirmed 3, 4, 5, would now run 3, 4, 5, 6" in report
        assert "Nothing was run; the database is unchanged." in report
        await pilot.press("escape")
        await settle(pilot)
        pane = app.screen.query_one(MigrationsPane)
        assert [s.status for s in pane.statuses] == ["applied"] * 2 + ["pending"] * 4
    assert applied_versions(half_migrated) == [1, 2]


async def test_a_reload_that_contradicts_the_banner_clears_it(
    half_migrated: Path, open_app: OpenApp
) -> None:
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await confirm(pilot, "a")
        banner = app.screen.query_one("#migrations-banner")
        assert "Applied 1 migration(s): 3." in plain(banner)
        await pilot.press("R")  # nothing changed: the banner still tells what happened
        await settle(pilot)
        assert "Applied 1 migration(s): 3." in plain(banner)
        assert not banner.has_class("-hidden")
        edited = half_migrated.parent / "migrations" / "0003_create_documents_and_decisions.up.sql"
        edited.write_text(edited.read_text() + "\n-- edited\n")
        await pilot.press("R")
        await settle(pilot)
        pane = app.screen.query_one(MigrationsPane)
        assert pane.statuses[2].status == "modified"
        assert banner.has_class("-hidden")
        assert "Applied" not in plain(banner)
