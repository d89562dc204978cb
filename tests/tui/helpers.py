"""Helpers for driving the app in tests: waiting for its database work to finish."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data.pane import DataPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.screens.main import MainScreen

BACKGROUND_GROUPS = ("watch",)
SIZE = (100, 30)
"""Terminal size of every test and screenshot."""
OpenApp = Callable[..., AbstractAsyncContextManager[DbInspectApp]]


async def settle(pilot: Pilot[None], limit: float = 10.0) -> None:
    """Wait until every worker but the change watcher has finished and messages are handled."""
    app = pilot.app
    quiet = 0
    deadline = asyncio.get_running_loop().time() + limit
    while quiet < 3:
        busy = [w for w in app.workers if w.group not in BACKGROUND_GROUPS and not w.is_finished]
        quiet = 0 if busy else quiet + 1
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still busy: {busy}")
        await pilot.pause(0.02)


async def wait_until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, limit: float = 30.0
) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `limit` s.

    The limit only catches a hang: the wait ends as soon as the app gets there.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {limit:g} s: {what}")
        await pilot.pause(0.01)


def palette_highlights(app: App[None], title: str) -> bool:
    """Whether the command palette has finished searching with `title` highlighted."""
    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return False
    searching = CommandPalette._GATHER_COMMANDS_GROUP
    if any(w.group == searching and not w.is_finished for w in app.workers):
        return False
    commands = palette.query_one(CommandList)
    if commands.highlighted is None:
        return False
    return title in str(commands.get_option_at_index(commands.highlighted).prompt)


def main_screen(app: DbInspectApp) -> MainScreen:
    """The main screen, wherever it sits in the stack."""
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            return screen
    raise AssertionError("no main screen")


def table_texts(table: DataTable[object]) -> list[list[str]]:
    """Every cell of a DataTable as plain text."""
    rows = (table.get_row_at(i) for i in range(table.row_count))
    return [[str(getattr(cell, "plain", cell)) for cell in row] for row in rows]


def applied_versions(path: Path) -> list[int]:
    """Versions in `_sqlx_migrations`, as sqlx would read them."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT version FROM _sqlx_migrations WHERE success ORDER BY 1")
        return [row[0] for row in rows]
    finally:
        conn.close()


def plain(static: object, width: int = 160) -> str:
    """What a Static shows, as plain text (its content rendered without colour)."""
    from rich.console import Console
    from textual.widgets import Static

    assert isinstance(static, Static)
    console = Console(width=width, record=True, color_system=None)
    console.print(static.content)
    return console.export_text()


def screen_text(app: DbInspectApp) -> str:
    """What the screen shows (dialogs, toasts and the screens under them), as plain text."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(update)
    return capture.get()


def terminal_text(app: DbInspectApp) -> str:
    """The text the terminal receives for the whole screen (toasts included), without
    Textual's own cursor moves and colours: where a raw control would act."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    return "".join(segment.text for segment in console.render(update) if not segment.control)


async def schema_read(pilot: Pilot[None], app: DbInspectApp) -> None:
    """Wait for the full schema (columns included), not just the first outline of names."""
    screen = main_screen(app)
    await wait_until(
        pilot,
        lambda: screen.schema_ is not None and any(o.columns for o in screen.schema_.objects),
        "the schema's columns read",
    )
    await settle(pilot)


async def open_in_data(
    pilot: Pilot[None],
    app: DbInspectApp,
    name: str,
    select: Callable[[SchemaTree, str], bool] = SchemaTree.select_object,
) -> DataPane:
    """Select `name` in the Schema tree (with `select`) and press `d`, as a user would,
    until the Data pane has it open.

    A schema read that lands between the selection and the key rebuilds the tree (the
    cursor comes back after the next refresh): then the key is pressed again.
    """
    tree = app.screen.query_one(SchemaTree)
    for _ in range(5):
        await wait_until(pilot, lambda: select(tree, name), f"{name!r} in the tree")
        await settle(pilot)
        chosen = tree.selected_object
        if chosen is None or chosen.name != name:
            continue
        await pilot.press("d")
        await settle(pilot)
        pane = app.screen.query_one(DataPane)
        relation = pane.browser.relation
        if relation is not None and relation.name == name:
            return pane
    raise AssertionError(f"{name!r} did not open in the Data pane")
