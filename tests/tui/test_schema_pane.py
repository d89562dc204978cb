"""The Schema pane on Chinook: the detail follows the cursor, the mouse reads, keys are kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Input, TabbedContent

from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.chinook import NARROW, copy_chinook
from tui.helpers import OpenApp, plain, settle


def detail(app: DbInspectApp) -> str:
    return plain(app.screen.query_one("#schema-info"), width=200)


def active_pane(app: DbInspectApp) -> str | None:
    return app.screen.query_one(TabbedContent).active


async def test_filter_then_enter_shows_the_object_under_the_cursor(
    workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        assert "table Album" in detail(app)
        await pilot.press("slash", *"cust", "enter")
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        selected = tree.selected_object
        assert selected is not None and selected.name == "Customer"
        assert "table Customer" in detail(app)
        assert "Album" not in detail(app)
        await pilot.press("slash", *"zzz")
        await settle(pilot)
        assert "No object matches" in detail(app)


async def test_group_node_shows_the_group_not_the_last_object(
    workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("k")  # from Album up to its group
        await settle(pilot)
        text = detail(app)
        assert "Tables (11)" in text
        assert "Album" not in text


async def test_click_selects_and_double_click_enter_or_d_open(
    workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        customer_line = 3  # Tables, Album, Artist, Customer
        await pilot.click(SchemaTree, offset=(4, customer_line))
        await settle(pilot)
        assert active_pane(app) == "schema"
        assert "table Customer" in detail(app)
        await pilot.double_click(SchemaTree, offset=(4, customer_line))
        await settle(pilot)
        assert active_pane(app) == "data"
        assert getattr(app.screen.query_one("#data-pane"), "table", None) == "Customer"

        for key in ("enter", "d"):
            await pilot.press("3")
            await settle(pilot)
            assert tree.select_object("Artist")
            await pilot.press(key)
            await settle(pilot)
            assert active_pane(app) == "data"
            assert getattr(app.screen.query_one("#data-pane"), "table", None) == "Artist"


async def test_keys_typed_in_one_burst_after_slash_reach_the_filter(
    workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        # Queued together, as a terminal delivers a fast typist's keys: none waits for focus.
        for key, char in [("3", "3"), ("slash", "/"), *((c, c) for c in "cust")]:
            app.post_message(events.Key(key, char))
        await settle(pilot)
        assert app.screen.query_one("#schema-filter", Input).value == "cust"
        assert isinstance(app.focused, Input)
        await pilot.press("slash", "x")  # `/` in the filter box is text like any other
        assert app.screen.query_one("#schema-filter", Input).value == "cust/x"
        await pilot.press("backspace", "backspace")
        tree = app.screen.query_one(SchemaTree)
        await pilot.press("enter")
        await settle(pilot)
        selected = tree.selected_object
        assert selected is not None and selected.name == "Customer"


async def test_wide_columns_are_whole_and_the_detail_scrolls_sideways(
    workdir: Path, open_app: OpenApp
) -> None:
    path = workdir / "wide.db"
    long_name = "customer_preferred_contact_channel_when_outside_business_hours"
    long_type = "NATIONAL_CHARACTER_VARYING_WITH_REGION_RULES(255)"
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE wide (id INTEGER PRIMARY KEY, {long_name} {long_type})")
        conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x')")
    conn.close()
    async with open_app(path) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        assert tree.select_object("wide")
        await settle(pilot)
        text = detail(app)
        assert long_name in text and long_type in text
        header = next(line for line in text.splitlines() if "Not null" in line)
        assert "Default" not in header and "Generated" not in header  # both empty: hidden
        scroller = app.screen.query_one("#schema-detail", VerticalScroll)
        assert scroller.max_scroll_x > 0
        scroller.focus()
        await pilot.press("right", "right")
        await settle(pilot)
        assert scroller.scroll_x > 0
        assert tree.select_object("plain")
        await settle(pilot)
        header = next(line for line in detail(app).splitlines() if "Not null" in line)
        assert "Default" in header


OTHER_PANES = [
    ("1", "connection"), ("2", "metadata"), ("4", "data"), ("5", "migrations"), ("6", "help"),
]  # fmt: skip


def burst(app: DbInspectApp, keys: str) -> None:
    """Queue `keys` at once, as a terminal delivers a fast typist's keys."""
    for char in keys:
        app.post_message(events.Key("slash" if char == "/" else char, char))


@pytest.mark.parametrize(("key", "pane"), OTHER_PANES)
async def test_3_slash_and_a_name_typed_at_once_from_another_pane_filter_the_schema(
    workdir: Path, open_app: OpenApp, key: str, pane: str
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert active_pane(app) == pane
        # `/` and the letters are keys of some panes too (the Data pane's filter,
        # the Migrations pane's `u`): none of them may act on the pane left behind.
        burst(app, "3/cust")
        await settle(pilot)
        assert active_pane(app) == "schema"
        box = app.screen.query_one("#schema-filter", Input)
        assert box.value == "cust"
        assert app.focused is box
        assert len(app.screen_stack) == 1  # no dialog opened on the way


async def test_3_slash_and_a_name_in_one_pilot_press_from_the_data_pane(
    workdir: Path, open_app: OpenApp
) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert active_pane(app) == "data"
        await pilot.press("3", "/", "c", "u", "s", "t")
        assert active_pane(app) == "schema"
        assert app.screen.query_one("#schema-filter", Input).value == "cust"
        await pilot.press("enter")
        await settle(pilot)
        selected = app.screen.query_one(SchemaTree).selected_object
        assert selected is not None and selected.name == "Customer"


async def test_digits_typed_into_the_filter_box_stay_text(workdir: Path, open_app: OpenApp) -> None:
    async with open_app(copy_chinook(workdir)) as app, app.run_test(size=NARROW) as pilot:
        await settle(pilot)
        burst(app, "/a1b4")
        await settle(pilot)
        assert active_pane(app) == "schema"
        assert app.screen.query_one("#schema-filter", Input).value == "a1b4"
