"""SVG screenshots of every pane on Chinook in PostgreSQL, kept in screenshots/ for README.md.

The database has a fixed name (it shows in the header) and is vacuumed after loading, so
sizes and estimates hold still. Regenerate with `--snapshot-update` and review the diff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import SERVER_URL, database_url, load_chinook, run_sql
from syrupy.assertion import SnapshotAssertion
from test_app import open_app
from tui.helpers import SIZE, open_in_data, schema_read, screen_text, settle, wait_until

from dbinspect.tui.data.grid import RowGrid
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema_tree import SchemaTree

NAME = "dbinspect_screenshots"


@pytest.fixture(scope="module")
def chinook_fixed() -> Iterator[str]:
    run_sql(SERVER_URL, f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
    run_sql(SERVER_URL, f"CREATE DATABASE {NAME}")
    url = database_url(NAME)
    try:
        load_chinook(url)
        run_sql(url, "VACUUM ANALYZE")
        yield url
    finally:
        run_sql(SERVER_URL, f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


def write_migrations(folder: Path) -> Path:
    """Two migrations on Chinook: one applied below, one left pending."""
    folder.mkdir()
    (folder / "0001_playlist_notes.up.sql").write_text(
        "ALTER TABLE playlist ADD COLUMN note text;\n"
    )
    (folder / "0001_playlist_notes.down.sql").write_text("ALTER TABLE playlist DROP COLUMN note;\n")
    (folder / "0002_track_rating.sql").write_text(
        "ALTER TABLE track ADD COLUMN rating smallint CHECK (rating BETWEEN 1 AND 5);\n"
    )
    return folder


async def screenshot(url: str, workdir: Path, key: str) -> str:
    """The screen after pressing `key`, with `customer` selected in the Schema tree."""
    async with open_app(url, workdir) as app, app.run_test(size=SIZE) as pilot:
        await schema_read(pilot, app)
        tree = app.screen.query_one(SchemaTree)
        if key == "4":
            await open_in_data(pilot, app, "customer")
        else:
            await wait_until(pilot, lambda: tree.select_object("customer"), "customer selected")
            await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        if key == "4":
            grid = app.screen.query_one(RowGrid)
            await wait_until(
                pilot, lambda: grid.has_focus and "Gonçalves" in screen_text(app), "the rows"
            )
        if key == "5":
            app.screen.query_one(MigrationsPane).table.move_cursor(row=1)
            await settle(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        return app.export_screenshot()


@pytest.fixture(scope="module")
def project(chinook_fixed: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from dbinspect.migrate.runner import run_migrations
    from dbinspect.url import parse_url

    workdir = tmp_path_factory.mktemp("pg_snapshots")
    folder = write_migrations(workdir / "migrations")
    run_migrations(parse_url(chinook_fixed), folder, target_version=1)
    run_sql(
        chinook_fixed,
        "UPDATE _sqlx_migrations SET installed_on = '2026-01-01 12:00:00+00', "
        "execution_time = 1000000",
    )
    return workdir


@pytest.mark.parametrize(
    "key", ["1", "2", "3", "4", "5", "6"], ids=["connection", "metadata", "schema", "data",
                                                "migrations", "help"]
)  # fmt: skip
async def test_pane(
    chinook_fixed: str, project: Path, key: str, svg_snapshot: SnapshotAssertion
) -> None:
    assert steady(await screenshot(chinook_fixed, project, key)) == svg_snapshot


SIZE_FIGURE = re.compile(r"\d[\d.,]*(&#160;(?:bytes|B|KiB|MiB|GiB))")
BAR = re.compile(r"█+")


def steady(svg: str) -> str:
    """The screenshot with byte sizes and the size bars blanked out.

    A freshly loaded database's size moves by a few pages from one load to the next (free
    space and visibility maps), and the bars with it: the rest must not move.
    """
    return BAR.sub("█", SIZE_FIGURE.sub(r"…\1", svg))
