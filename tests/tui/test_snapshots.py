"""SVG screenshots of every pane on the demo database, kept in screenshots/ for README.md.

Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from dbinspect import sqlite_driver
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.chinook import NARROW, copy_chinook
from tui.helpers import SIZE, OpenApp, screen_text, settle


async def screenshot(demo_db: Path, open_app: OpenApp, key: str) -> str:
    """The screen after pressing `key`, with `projects` selected in the Schema tree."""
    async with (
        open_app(demo_db, path_label="demo.db") as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert app.screen.query_one(SchemaTree).select_object("projects")
        if key == "4":
            await pilot.press("d")
        await pilot.press(key)
        await settle(pilot)
        if key == "5":
            app.screen.query_one(MigrationsPane).table.move_cursor(row=2)
            await settle(pilot)
        await pilot.wait_for_scheduled_animations()  # the tab underline has slid over
        await pilot.pause()
        return app.export_screenshot()


@pytest.mark.skipif(
    not sqlite_driver.BUNDLED, reason="the screenshot shows the bundled SQLite's version"
)
async def test_connection(
    demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    assert await screenshot(demo_db, open_app, "1") == svg_snapshot


async def test_metadata(demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion) -> None:
    assert await screenshot(demo_db, open_app, "2") == svg_snapshot


async def test_schema(demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion) -> None:
    assert await screenshot(demo_db, open_app, "3") == svg_snapshot


async def test_data(demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion) -> None:
    assert await screenshot(demo_db, open_app, "4") == svg_snapshot


async def test_migrations(
    demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    assert await screenshot(demo_db, open_app, "5") == svg_snapshot


async def test_help(demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion) -> None:
    assert await screenshot(demo_db, open_app, "6") == svg_snapshot


async def narrow_screenshot(workdir: Path, open_app: OpenApp, key: str) -> tuple[str, str]:
    """Chinook at 80x24 after pressing `key`, `Customer` selected: the SVG and the screen text."""
    async with (
        open_app(copy_chinook(workdir), path_label="chinook.db") as app,
        app.run_test(size=NARROW) as pilot,
    ):
        await settle(pilot)
        assert app.screen.query_one(SchemaTree).select_object("Customer")
        if key == "4":
            await pilot.press("d")
        await pilot.press(key)
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        return app.export_screenshot(), screen_text(app)


async def test_schema_narrow(
    workdir: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    svg, text = await narrow_screenshot(workdir, open_app, "3")
    for whole in ("CustomerId", "SupportRepId", "PostalCode", "NVARCHAR(40)", "NVARCHAR(80)"):
        assert whole in text
    assert svg == svg_snapshot


async def test_data_narrow(
    workdir: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    svg, text = await narrow_screenshot(workdir, open_app, "4")
    footer = text.splitlines()[-1]
    assert "/ Filter" in footer and "s Sort" in footer
    assert svg == svg_snapshot


async def test_migrations_narrow(
    workdir: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    svg, text = await narrow_screenshot(workdir, open_app, "5")
    header = text.splitlines()[3]
    assert "Reversible" in header
    assert svg == svg_snapshot
