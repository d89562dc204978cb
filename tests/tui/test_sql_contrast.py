"""SQL is highlighted for the app's theme: every token readable on light and dark backgrounds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.color import Color
from rich.segment import Segment
from textual.geometry import Region

from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.panes.schema_tree import SchemaTree
from tui.helpers import SIZE, OpenApp, settle

SAMPLE = """CREATE TABLE "order line" ( -- one row per product ordered
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    [order] INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku TEXT NOT NULL DEFAULT 'none' CHECK (length(sku) BETWEEN 1 AND 40),
    price REAL DEFAULT 1.5e3, `note` BLOB DEFAULT x'00' /* raw */
)"""
MINIMUM_CONTRAST = 4.5
"""WCAG 2 level AA for normal text."""


def luminance(color: Color) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = color.get_truecolor()
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: Color, other: Color) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def sql_segments(app: DbInspectApp, selector: str, heading: str) -> list[Segment]:
    """The drawn segments of the SQL under the first line starting with `heading`."""
    static = app.screen.query_one(selector)
    lines = static.render_lines(Region(0, 0, static.size.width, static.size.height))
    texts = [strip.text.strip() for strip in lines]
    start = next(i for i, text in enumerate(texts) if text.startswith(heading)) + 1
    return [seg for strip in lines[start:] for seg in strip if seg.text.strip()]


def assert_readable(theme: str, segments: list[Segment]) -> None:
    colours = set()
    for seg in segments:
        assert seg.style is not None and seg.style.color and seg.style.bgcolor, seg
        ratio = contrast(seg.style.color, seg.style.bgcolor)
        assert ratio >= MINIMUM_CONTRAST, (theme, seg.text, seg.style, round(ratio, 2))
        colours.add(seg.style.color)
    assert len(colours) >= 4  # highlighted, not drawn in one colour


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_every_sql_token_reaches_the_contrast_minimum(
    theme: str, workdir: Path, open_app: OpenApp
) -> None:
    path = workdir / "orders.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        conn.execute(SAMPLE)
    conn.close()
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one(SchemaTree).select_object("order line")
        await settle(pilot)
        app.theme = theme  # after the SQL is on screen: it must be drawn again
        await settle(pilot)
        segments = sql_segments(app, "#schema-info", "SQL")
        drawn = "".join(seg.text for seg in segments)
        assert "AUTOINCREMENT" in drawn and "'none'" in drawn and "/* raw */" in drawn
        assert_readable(theme, segments)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
async def test_migration_sql_follows_the_theme(
    theme: str, workdir: Path, open_app: OpenApp
) -> None:
    (workdir / "migrations" / "0001_create_workspaces_and_sessions.up.sql").write_text(SAMPLE)
    path = workdir / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    conn.close()
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        app.theme = theme
        await settle(pilot)
        segments = sql_segments(app, "#migrations-sql-text", "up:")
        assert "AUTOINCREMENT" in "".join(seg.text for seg in segments)
        assert_readable(theme, segments)
