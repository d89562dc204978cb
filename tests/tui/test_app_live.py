"""Pilot tests of live refresh and of hostile names shown literally."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import TabbedContent

from dbinspect.models import SchemaObject
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.helpers import SIZE, OpenApp, plain, settle, wait_until


def tree_labels(tree: SchemaTree) -> dict[str, str]:
    """Object name -> the label text the tree shows for it."""
    return {
        leaf.data.name: leaf.label.plain
        for group in tree.root.children
        for leaf in group.children
        if isinstance(leaf.data, SchemaObject)
    }


async def test_another_process_writing_refreshes_the_panes(
    demo_db: Path, open_app: OpenApp
) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        assert "written_elsewhere" not in tree_labels(tree)

        def write() -> None:
            conn = sqlite3.connect(demo_db)
            conn.execute("CREATE TABLE written_elsewhere (x)")
            conn.commit()
            conn.close()

        await asyncio.to_thread(write)
        # The watcher looks about once a second.
        await wait_until(pilot, lambda: "written_elsewhere" in tree_labels(tree), "the refresh")
        await settle(pilot)
        assert "Tables           17" in plain(app.screen.query_one("#metadata-counts"))


HOSTILE = {
    "[/]": "[/]",
    "[@click=app.quit]x": "[@click=app.quit]x",
    "clip\x1b]52;c;aGVsbG8=\x07": "clip\\x1b]52;c;aGVsbG8=\\x07",
    "\u202egnp.exe": "\\u202egnp.exe",
    "[link=https://example.com]l[/link]": "[link=https://example.com]l[/link]",
}


def hostile_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    for name in HOSTILE:
        quoted = '"' + name.replace('"', '""') + '"'
        conn.execute(f'CREATE TABLE {quoted} ("[bold]col\x1b[2J" TEXT, v TEXT)')
        conn.execute(f"INSERT INTO {quoted} VALUES (?, ?)", ("[/]\x1b]8;;x\x07", "\x9b2J"))
    conn.commit()
    conn.close()
    return path


async def test_hostile_names_show_literally_and_do_nothing(
    workdir: Path, open_app: OpenApp
) -> None:
    path = hostile_db(workdir / "hostile.db")
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        labels = tree_labels(tree)
        for name, shown in HOSTILE.items():
            assert labels[name] == shown
        # Walk over every table: details render, the app does not quit or follow links.
        for name in HOSTILE:
            assert tree.select_object(name)
            await pilot.pause()
            detail = plain(app.screen.query_one("#schema-info"))
            assert HOSTILE[name] in detail
            assert "[bold]col\\x1b[2J" in detail
            assert "\x1b" not in detail and "\u202e" not in detail
            await pilot.press("d")
            await settle(pilot)
            assert app.screen.query_one(TabbedContent).active == "data"
            await pilot.press("3")
        for key in "12356":
            await pilot.press(key)
            await settle(pilot)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x9b" not in svg
        assert app.is_running
