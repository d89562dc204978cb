"""Pilot tests of the global and pane keys on the demo database."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Input, TabbedContent

from dbinspect.models import SchemaObject
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.helpers import (
    SIZE,
    OpenApp,
    main_screen,
    palette_highlights,
    plain,
    settle,
    wait_until,
)


def leaf_names(tree: SchemaTree) -> list[str]:
    """Names of the objects the tree lists right now."""
    return [
        leaf.data.name
        for group in tree.root.children
        for leaf in group.children
        if isinstance(leaf.data, SchemaObject)
    ]


async def test_number_keys_switch_between_the_seven_panes(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent)
        assert tabs.active == "schema"
        titles = [str(tab.label) for tab in app.screen.query("Tab")]
        assert titles == [
            "Connection", "Metadata", "Schema", "Data", "Migrations", "Help", "Query"
        ]  # fmt: skip
        assert not app.screen.query("#query-pane")  # the editor loads when first shown
        for key, pane in zip("1234567", ["connection", "metadata", "schema", "data",
                                          "migrations", "help", "query"], strict=True):  # fmt: skip
            await pilot.press(key)
            await settle(pilot)
            assert tabs.active == pane
        assert app.focused is not None and app.focused.id == "query-editor"
        connection = plain(app.screen.query_one("#connection-facts"))
        assert "SQLite 3." in connection
        assert "delete" in connection
        assert "5 add project updated at trigger" in connection
        assert "read-write" in connection
        metadata = plain(app.screen.query_one("#metadata-counts"))
        assert "5 applied, 0 pending, 0 modified, 0 missing, 0 failed" in metadata
        chart = plain(app.screen.query_one("#metadata-chart"))
        assert "chat_messages" in chart.splitlines()[1]  # the largest table comes first
        help_text = plain(app.screen.query_one("#help-commands"), width=240)
        assert "sqlx migrate run --database-url sqlite:demo.db --source migrations" in help_text
        assert (
            "dbinspect migrate revert --database-url sqlite:demo.db --source migrations"
            in help_text
        )


async def test_q_quits(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app._exit


async def test_question_mark_toggles_the_keys_panel(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("?")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("?")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_palette_lists_every_action_and_runs_them(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(main_screen(app))]
        for title in ("Show Connection", "Show Help", "Refresh", "Filter schema",
                      "Apply next migration", "Apply all pending migrations",
                      "Revert last migration", "Migrate to the selected version"):  # fmt: skip
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"show help")
        await pilot.pause()
        await wait_until(pilot, lambda: palette_highlights(app, "Show Help"), "the command found")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "help"


async def test_capital_r_refreshes_after_an_outside_change(
    demo_db: Path, open_app: OpenApp
) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        screen.workers.cancel_group(screen, "watch")  # only the key may refresh here
        conn = sqlite3.connect(demo_db)
        conn.execute("CREATE TABLE added_outside (x)")
        conn.commit()
        conn.close()
        await pilot.press("R")
        await settle(pilot)
        assert "added_outside" in leaf_names(screen.query_one(SchemaTree))


async def test_slash_filters_the_tree_and_details_follow(demo_db: Path, open_app: OpenApp) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"chat_m")
        await pilot.pause()
        tree = app.screen.query_one(SchemaTree)
        assert set(leaf_names(tree)) == {"chat_messages", "idx_chat_messages_instance"}
        await pilot.press("enter")  # back to the tree
        assert app.focused is tree
        selected = tree.selected_object
        assert selected is not None and selected.name == "chat_messages"
        await pilot.press("j", "j")  # vim keys: over the Indexes group to its index
        selected = tree.selected_object
        assert selected is not None and selected.name == "idx_chat_messages_instance"
        assert "idx_chat_messages_instance on chat_messages" in plain(
            app.screen.query_one("#schema-info")
        )
        await pilot.press("k", "k")
        detail = plain(app.screen.query_one("#schema-info"))
        assert "Columns (7)" in detail
        assert "instance_id  instances(id)" in detail
        assert "CREATE TABLE chat_messages" in detail
        await pilot.press("d")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "data"
        assert getattr(app.screen.query_one("#data-pane"), "table", None) == "chat_messages"


async def test_keys_typed_at_once_after_slash_go_into_the_data_filter(
    demo_db: Path, open_app: OpenApp
) -> None:
    # Sent at once (a paste, a fast typist): they arrive before `/` is handled. The pane
    # keys (1 to 7) are priority keys: the box must have the focus before `5` is read.
    from textual import events

    from dbinspect.tui.data import DataPane

    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = main_screen(app).query_one(DataPane)
        pane.show(app.session.url, "chat_messages")
        await pilot.press("4")
        await wait_until(pilot, lambda: pane.grid.columns != (), "the rows")
        for key, char in [("slash", "/"), ("5", "5"), ("enter", "\r")]:
            app.post_message(events.Key(key, char))
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "data"
        assert [str(f.value) for f in pane.row_query.filters] == ["5"]
        # In the box, `/` is part of the value, not the key that opens it.
        await pilot.press("slash", "1", "slash", "2")
        assert isinstance(app.focused, Input) and app.focused.value == "1/2"
