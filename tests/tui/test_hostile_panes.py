"""No pane lets a file name, a tracking row, a table name or a value act on the terminal.

What is checked is what the terminal would receive: the text of every segment the screen
renders (Textual's own cursor moves and colours aside), with notifications shown.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from hostile_text import BIDI, C1_CSI, CLEAR, HOSTILE, OSC2, names, quote, raw_controls
from hypothesis import HealthCheck, given, settings
from textual.pilot import Pilot

from dbinspect.errors import DbInspectError
from dbinspect.migrate import run_migrations
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.tui.screens.dialogs import ConfirmScreen, ReportScreen
from dbinspect.url import parse_url
from tui.helpers import SIZE, OpenApp, plain, settle, terminal_text

PANE_KEYS = "123456"


async def build(folder: Path, name: str, description: str, *, missing_row: bool) -> Path:
    """`app.db` with migration 1 (named `name`, creating a table `name`) applied.

    Migration 2 (named `description`) stays pending; with `missing_row`, a tracking row
    with no file has `description` as its description.
    """
    migrations = folder / "migrations"
    migrations.mkdir()
    table = quote(f"t{name}")
    (migrations / f"1_{name}x.up.sql").write_text(
        f"CREATE TABLE {table} ({quote(name)} TEXT);\n"
        f"INSERT INTO {table} VALUES ('{name.replace(chr(39), chr(39) * 2)}');\n"
    )
    (migrations / f"1_{name}x.down.sql").write_text(f"DROP TABLE {table};\n")
    (migrations / f"2_{description}x.sql").write_text("SELECT 1;\n")
    database = folder / "app.db"
    await run_migrations(parse_url(str(database)), migrations, target_version=1)
    if missing_row:
        conn = sqlite3.connect(database)
        with conn:
            conn.execute(
                "INSERT INTO _sqlx_migrations VALUES (9, ?, '2024-01-01 00:00:00', 1, x'00', 1)",
                (description,),
            )
        conn.close()
    return database


async def visit_every_pane(pilot: Pilot[None], app: DbInspectApp) -> list[str]:
    """The screen's text on each pane, and on the Data pane with the hostile table open."""
    app.animation_level = "none"  # the tab underline's slide would double the time
    shown = []
    for key in PANE_KEYS:
        await pilot.press(key)
        await settle(pilot)
        shown.append(terminal_text(app))
    await pilot.press("3", "d")  # open the selected table in the Data pane
    await settle(pilot)
    shown.append(terminal_text(app))
    return shown


async def test_the_migrations_heading_and_every_pane_escape_hostile_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    database = await build(tmp_path, HOSTILE, f"{CLEAR}{C1_CSI}{BIDI}{OSC2}", missing_row=True)
    async with (
        open_app(database, source="migrations") as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await settle(pilot)
        for shown in await visit_every_pane(pilot, app):
            assert raw_controls(shown, allow="\n") == [], shown
        await pilot.press("5")
        await settle(pilot)
        heading = plain(app.screen.query_one("#migrations-sql-text"), width=400)
        assert "up: 1_a\\x1b]52;c;aGk=\\x1b\\b\\x1b[2Jc\\x9b31md\\u202eevil" in heading

        # The row with no file makes the engine refuse: the report and toast are escaped.
        await pilot.press("A")
        await settle(pilot)
        assert isinstance(app.screen, ReportScreen | ConfirmScreen)
        assert raw_controls(terminal_text(app), allow="\n") == []


async def test_the_confirmation_and_the_banner_escape_hostile_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    database = await build(tmp_path, "plain", f"{CLEAR}{C1_CSI}{BIDI}{OSC2}", missing_row=False)
    async with (
        open_app(database, source="migrations") as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await settle(pilot)
        await pilot.press("5", "a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        shown = terminal_text(app)
        assert "2 up: \\x1b[2J\\x9b31m\\u202eevil" in shown
        assert raw_controls(shown, allow="\n") == []
        await pilot.press("y")
        await settle(pilot)
        assert raw_controls(terminal_text(app), allow="\n") == []


async def test_a_warning_in_the_confirmation_escapes_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    await build(tmp_path, "plain", "second", missing_row=False)
    (tmp_path / "migrations" / f"3_{CLEAR}{C1_CSI}fk.sql").write_text(
        "PRAGMA foreign_keys = OFF;\n"
    )
    async with (
        open_app(tmp_path / "app.db", source="migrations") as app,
        app.run_test(size=(160, 40), notifications=True) as pilot,
    ):
        await settle(pilot)
        await pilot.press("5", "A")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        shown = plain(app.screen.query_one("#dialog-body Static"), width=400)
        assert "warning: 3_\\x1b[2J\\x9b31mfk.sql: statement 1" in shown
        assert raw_controls(terminal_text(app), allow="\n") == []


async def test_a_failed_launch_banner_escapes_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / f"1_{HOSTILE}.sql").write_text("INSERT INTO nowhere VALUES (1);\n")
    database = tmp_path / "app.db"
    sqlite3.connect(database).close()
    with pytest.raises(DbInspectError) as failed:
        await run_migrations(parse_url(str(database)), tmp_path / "migrations")
    assert "\x1b" in failed.value.one_line()  # the engine's message names the file as it is
    outcome = LaunchOutcome(error=failed.value)
    async with (
        open_app(database, source="migrations", outcome=outcome) as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await settle(pilot)
        assert raw_controls(terminal_text(app), allow="\n") == []
        await pilot.press("escape")  # close the failure report: the banner is under it
        await settle(pilot)
        banner = plain(app.screen.query_one("#migrations-banner"), width=400)
        assert "\\x1b]52;c;aGk=" in banner
        assert raw_controls(terminal_text(app), allow="\n") == []


async def test_a_notification_quoting_an_unreadable_folder_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    await build(tmp_path, "plain", "second", missing_row=False)
    (tmp_path / "migrations" / f"x{HOSTILE}_bad.sql").write_text("SELECT 1;\n")  # no version
    async with (
        open_app(tmp_path / "app.db", source="migrations") as app,
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        await settle(pilot)
        await pilot.press("5", "a")  # refused: the folder cannot be read; a toast says why
        await settle(pilot)
        shown = terminal_text(app)
        assert "\\x1b]52;c;aGk=" in shown
        assert raw_controls(shown, allow="\n") == []


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=names(16), description=names(16))
def test_random_names_never_reach_the_terminal_from_a_pane(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    open_app: OpenApp,
    name: str,
    description: str,
) -> None:
    folder = tmp_path_factory.mktemp("panes")
    monkeypatch.chdir(folder)  # the app opens `app.db` relative to the working directory

    async def scenario() -> list[str]:
        database = await build(folder, name, description, missing_row=True)
        async with (
            open_app(database, source="migrations") as app,
            app.run_test(size=SIZE, notifications=True) as pilot,
        ):
            await settle(pilot)
            return await visit_every_pane(pilot, app)

    for shown in asyncio.run(scenario()):
        assert raw_controls(shown, allow="\n") == [], shown
