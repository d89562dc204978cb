"""The first frame builds only the pane it shows; the others are built right after it,
or at once when a key asks for one, and show everything read before they were built."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent, TabPane
from textual.widgets._tabbed_content import ContentTabs

import dbinspect.tui.screens.main as main_module
from dbinspect.browse.protocol import Relation
from dbinspect.errors import DbInspectError
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data.pane import DataPane
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.tui.panes.connection import ConnectionPane
from dbinspect.tui.panes.help import HelpPane
from dbinspect.tui.panes.metadata import MetadataPane
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema import SchemaPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.screens.main import PANES, MainScreen
from dbinspect.tui.session import Session
from tui.helpers import SIZE, OpenApp, main_screen, plain, settle, wait_until


def built_tabs(screen: MainScreen) -> list[str]:
    """The tabs whose pane has been mounted."""
    return [str(tab.id) for tab in screen.query(TabPane) if tab.children]


@asynccontextmanager
async def on_demand(
    path: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[DbInspectApp, Pilot[None], MainScreen]]:
    """The app settled with only its first frame's pane built: the others wait for a key."""
    monkeypatch.setattr(main_module, "BUILT_AFTER_FIRST_FRAME", ())
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        yield app, pilot, main_screen(app)


def test_the_app_module_leaves_the_hidden_panes_unimported() -> None:
    # In a fresh interpreter: this process has imported every pane already.
    hidden = [
        "dbinspect.tui.data.pane",
        "dbinspect.tui.panes.migrations",
        "dbinspect.tui.panes.connection",
        "dbinspect.tui.panes.metadata",
        "dbinspect.tui.panes.help",
        "dbinspect.tui.query",
    ]
    code = (
        "import sys, dbinspect.tui.app\n"
        f"print([m for m in {hidden!r} if m in sys.modules])\n"
        "print('dbinspect.tui.panes.schema' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n")[:2] == ["[]", "True"]


async def test_the_first_frame_holds_only_the_schema_pane(demo_db: Path, open_app: OpenApp) -> None:
    at_first_frame: list[list[str]] = []
    async with open_app(demo_db) as app:
        app.session.on_first_frame = lambda: at_first_frame.append(built_tabs(main_screen(app)))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = main_screen(app)
            assert at_first_frame == [["schema"]]
            # Right after it, every pane but the Query pane (built when first shown).
            assert built_tabs(screen) == [
                "connection", "metadata", "schema", "data", "migrations", "help",
            ]  # fmt: skip
            assert_panes_filled(app, screen)


async def test_a_launch_outcome_shows_the_migrations_pane_in_the_first_frame(
    demo_db: Path, open_app: OpenApp
) -> None:
    at_first_frame: list[list[str]] = []
    outcome = LaunchOutcome(error=DbInspectError("migration 3 failed"))
    async with open_app(demo_db, source="migrations", outcome=outcome) as app:
        app.session.on_first_frame = lambda: at_first_frame.append(built_tabs(main_screen(app)))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = main_screen(app)
            assert at_first_frame == [["schema", "migrations"]]
            assert screen.query_one(TabbedContent).active == "migrations"
            assert_panes_filled(app, screen)
            await pilot.press("escape")  # the failure report, over the banner
            await settle(pilot)
            banner = plain(screen.query_one("#migrations-banner"), width=400)
            assert "migration 3 failed" in banner


async def test_a_pane_asked_for_before_it_is_built_is_built_once_and_filled(
    demo_db: Path, open_app: OpenApp
) -> None:
    async with open_app(demo_db) as app:

        def ask_at_first_frame() -> None:
            screen = main_screen(app)
            for pane_id in ("connection", "help", "data", "migrations"):
                assert screen.pane(pane_id, DataPane) is None  # not built yet
                screen.action_show_pane(pane_id)

        app.session.on_first_frame = ask_at_first_frame
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = main_screen(app)
            assert screen.query_one(TabbedContent).active == "migrations"
            for kind in (ConnectionPane, MetadataPane, DataPane, MigrationsPane, HelpPane):
                assert len(screen.query(kind)) == 1, kind  # the later build added none
            assert_panes_filled(app, screen)
            # `d` on a table asks for the Data pane: it shows the table's rows.
            await pilot.press("2")
            await pilot.press("3")
            assert screen.query_one(SchemaTree).select_object("users")
            await pilot.press("d")
            await settle(pilot)
            assert screen.query_one(TabbedContent).active == "data"
            assert screen.query_one(DataPane).table == "users"


def assert_panes_filled(app: DbInspectApp, screen: MainScreen) -> None:
    """Every built pane shows what the screen has read: facts, statuses, help commands."""
    assert screen.facts is not None and screen.statuses is not None
    connection = plain(screen.query_one(ConnectionPane).query_one("#connection-facts"))
    applied = [s for s in screen.statuses if s.applied is not None]
    assert "Loading" not in connection
    assert applied[-1].description in connection  # the latest migration
    migrations = screen.query_one(MigrationsPane)
    assert migrations.table.row_count == len(screen.statuses) > 0
    help_context = screen.query_one(HelpPane).command_context
    assert help_context is not None
    assert help_context.statuses == screen.statuses
    assert app.session.url.masked in plain(screen.query_one("#status-line"))


async def test_a_pane_built_after_the_reads_shows_what_was_read(
    demo_db: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing built after the first frame: each pane is built by its key, once the
    # facts and statuses were read without it.
    async with on_demand(demo_db, open_app, monkeypatch) as (app, pilot, screen):
        assert built_tabs(screen) == ["schema"]
        assert screen.facts is not None and screen.statuses is not None
        for key in "215364":
            await pilot.press(key)
            await settle(pilot)
        assert_panes_filled(app, screen)
        counts = plain(screen.query_one(MetadataPane).query_one("#metadata-counts"))
        assert f"{screen.facts.page_count:,}" in counts
        chart = plain(screen.query_one(MetadataPane).query_one("#metadata-chart"))
        assert "Largest tables" in chart  # measured once 2 showed the pane


class KeysTypedAhead(DbInspectApp):
    """The app, its main screen sent `keys` before it is mounted (typed while it starts)."""

    def __init__(self, session: Session, keys: str) -> None:
        super().__init__(session)
        self.keys = keys

    def get_default_screen(self) -> MainScreen:
        screen = MainScreen(self.session)
        for key in self.keys:  # what the screen's bindings call for these keys
            if key == "R":
                screen.action_refresh()
            else:
                screen.action_show_pane(PANES[int(key) - 1][0])
        return screen


@pytest.mark.parametrize(
    ("keys", "shown", "focused"),
    [
        ("1", "connection", "connection-pane"),
        ("4", "data", "data-grid"),
        ("5", "migrations", "migrations-table"),
        ("7", "query", "query-editor"),
        ("R", "schema", "schema-tree"),
        ("51", "connection", "connection-pane"),
    ],
)
async def test_keys_typed_while_the_app_starts_act_once_it_is_up(
    demo_db: Path, open_app: OpenApp, keys: str, shown: str, focused: str
) -> None:
    async with open_app(demo_db) as started:
        launched = started.session.connections.peek("panes")
        app = KeysTypedAhead(started.session, keys)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = main_screen(app)
            assert screen.query_one(TabbedContent).active == shown
            assert app.focused is not None and app.focused.id == focused
            assert_panes_filled(app, screen)
            reopened = started.session.connections.peek("panes") is not launched
            assert reopened == ("R" in keys)  # R reread everything on a new connection


async def test_a_pane_being_built_takes_the_keys_not_the_pane_left_behind(
    demo_db: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_demand(demo_db, open_app, monkeypatch) as (app, pilot, screen):
        assert app.focused is screen.query_one(SchemaTree)
        screen.action_show_pane("data")  # the key `4`: the Data pane is being built
        assert app.focused is None  # `/` now would not open the hidden tree's filter
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "data"
        assert app.focused is screen.query_one(DataPane).grid


async def test_the_tab_bar_used_while_a_pane_is_built_has_the_last_word(
    demo_db: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_demand(demo_db, open_app, monkeypatch) as (_app, pilot, screen):
        screen.action_show_pane("data")  # the key `4`: the Data pane is being built
        # Then, before it is built, a click on the Schema tab: the tab bar takes focus.
        screen.set_focus(screen.query_one(ContentTabs))
        screen.query_one(TabbedContent).active = "schema"
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "schema"
        assert screen.pane("data", DataPane) is not None  # built all the same


async def test_a_table_opened_while_the_data_pane_is_built_leaves_the_user_where_they_went(
    demo_db: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with on_demand(demo_db, open_app, monkeypatch) as (_app, pilot, screen):
        screen.post_message(SchemaPane.DataRequested(Relation(None, "users")))  # `d` on users
        await wait_until(pilot, lambda: "data" in built_tabs(screen), "the Data pane building")
        screen.action_show_pane("migrations")  # the key `5`, before the rows show
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "migrations"
        data = screen.query_one(DataPane)
        assert data.table == "users"  # opened all the same, for when the user comes back
        await pilot.press("4")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "data"
        assert data.grid.total > 0
