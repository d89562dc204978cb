"""The Schema pane's `c` form: migrate recreate's options in, the two files shown, written."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from dbinspect.errors import MigrationError
from dbinspect.migrate import run_migrations
from dbinspect.ops.demo import SAMPLE_MIGRATIONS
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.panes.recreate_form import RecreateForm, changes_from_form
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.screens.dialogs import ConfirmScreen
from dbinspect.url import parse_url
from tui.helpers import SIZE, OpenApp, applied_versions, plain, settle


@pytest.fixture
async def migrated(workdir: Path) -> Path:
    path = workdir / "app.db"
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS)
    return path


def test_form_fields_read_as_the_command_options() -> None:
    changes = changes_from_form(
        {"type": "a=INT; b = TEXT", "pk": "a,b", "check": "a > 0; b <> ''"},
        {"strict": True},
    )
    assert changes.types == [("a", "INT"), ("b", "TEXT")]
    assert changes.pk == ("a", "b")
    assert changes.checks == ["a > 0", "b <> ''"]
    assert changes.strict is True
    with pytest.raises(MigrationError, match="nothing to change"):
        changes_from_form({}, {})
    with pytest.raises(MigrationError, match="--type: expected NAME=VALUE"):
        changes_from_form({"type": "a"}, {})


async def test_c_on_a_table_shows_the_sql_and_writes_the_pair(
    migrated: Path, workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        assert tree.select_object("sessions")
        await pilot.press("c")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecreateForm)
        form.query_one("#field-rename", Input).value = "title=name"
        form.query_one("#field-type", Input).value = "nope=INT"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "has no column 'nope'" in plain(form.query_one("#recreate-sql"), width=200)
        form.query_one("#field-type", Input).value = ""
        await pilot.press("ctrl+r")
        await settle(pilot)
        shown = plain(form.query_one("#recreate-sql"), width=200)
        assert "0006_recreate_sessions.up.sql" in shown
        assert 'ALTER TABLE "sessions" RENAME COLUMN "title" TO "name";' in shown
        assert "PRAGMA foreign_keys = OFF;" in shown
        assert not list((workdir / "migrations").glob("0006_*"))  # shown, not written
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, RecreateForm)
        written = sorted(p.name for p in (workdir / "migrations").glob("0006_*"))
        assert written == ["0006_recreate_sessions.down.sql", "0006_recreate_sessions.up.sql"]
        up = (workdir / "migrations" / "0006_recreate_sessions.up.sql").read_text()
        assert up.startswith("-- no-transaction\n")
        # Applied from the Migrations pane, with its usual confirmation.
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "recreate sessions" in plain(app.screen.query_one("#dialog-body Static"))
        await pilot.press("y")
        await settle(pilot)
    assert applied_versions(migrated)[-1] == 6
    with sqlite3.connect(migrated) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(sessions)")]
        assert "name" in columns and "title" not in columns


async def test_c_on_a_view_does_not_open_the_form(migrated: Path, open_app: OpenApp) -> None:
    async with open_app(migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one(SchemaTree).select_object("session_summary")
        await pilot.press("c")
        await settle(pilot)
        assert not isinstance(app.screen, RecreateForm)
        await pilot.press("escape")
