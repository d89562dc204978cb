"""Pilot tests of the day-two operations in the palette: backup, restore, check, reset.

Each runs on a real SQLite file in a temp folder, through the command palette, as a user
would: the entry, the dialog naming the files, the button, the outcome.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from hostile_text import HOSTILE, raw_controls
from textual.pilot import Pilot
from textual.widgets import Button, Input, RadioSet

from dbinspect.browse.protocol import Relation
from dbinspect.migrate.runner import run_migrations
from dbinspect.ops.backup import run_backup
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.textsafe import file_stem
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data import DataPane
from dbinspect.tui.panes.schema import SchemaPane
from dbinspect.tui.screens.operation_dialogs import (
    BackupScreen,
    CheckScreen,
    RepairScreen,
    ResetScreen,
    RestoreScreen,
    ResultScreen,
)
from dbinspect.url import parse_url
from tui.data_fixtures import screen_lines
from tui.helpers import SIZE, OpenApp, main_screen, palette_highlights, plain, settle, wait_until

ITEMS_SQL = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"


@pytest.fixture
def tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temp folder, made the working directory (the app is opened on `app.db`)."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DBINSPECT_MIGRATIONS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


async def told(pilot: Pilot[None], app: DbInspectApp, start: str) -> str:
    """The notification starting with `start`, once it has arrived (a message, posted)."""

    def found() -> str | None:
        return next((n.message for n in app._notifications if n.message.startswith(start)), None)

    await wait_until(pilot, found, f"a notification {start!r}")
    message = found()
    assert message is not None
    return message


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def execute(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def migrated_db(folder: Path) -> Path:
    """`app.db` with the one migration of `migrations/` applied and two rows in `items`."""
    migrations = folder / "migrations"
    migrations.mkdir()
    (migrations / "0001_items.sql").write_text(ITEMS_SQL)
    path = folder / "app.db"
    run_migrations(parse_url(str(path)), migrations)
    execute(path, "INSERT INTO items (name) VALUES ('apple'), ('pear')")
    return path


async def open_from_palette(pilot: Pilot[None], app: DbInspectApp, title: str) -> None:
    """Find `title` in the palette and run it."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*title.lower())
    await wait_until(pilot, lambda: palette_highlights(app, title), f"{title} found")
    await pilot.press("enter")
    await pilot.pause()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def folders_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def files_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.is_file())


async def test_backup_from_the_palette_writes_a_sound_private_file(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = migrated_db(tmp_path)
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Back up the database")
        dialog = app.screen
        assert isinstance(dialog, BackupScreen)
        field = dialog.query_one("#backup-path", Input)
        assert field.value.startswith("app-") and field.value.endswith(".sqlite")
        body = plain(dialog.query_one("#operation-body"))
        assert "Copies app.db as of one moment into" in body
        assert str(tmp_path / field.value) in body.replace("\n", "")
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, BackupScreen), "backup done")
        target = tmp_path / field.value
        message = await told(pilot, app, f"Backed up to {target} (")
        assert "integrity_check ok" in message
    assert mode(target) == 0o600
    assert rows(target, "PRAGMA integrity_check") == [("ok",)]
    assert rows(target, "SELECT name FROM items ORDER BY id") == [("apple",), ("pear",)]


async def test_the_json_format_changes_the_file_name_and_writes_json(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = migrated_db(tmp_path)
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Back up the database")
        dialog = app.screen
        assert isinstance(dialog, BackupScreen)
        dialog.query_one(RadioSet).focus()
        await pilot.press("right", "right", "enter")  # sqlite, sql, json
        await pilot.pause()
        field = dialog.query_one("#backup-path", Input)
        assert field.value.endswith(".json"), field.value
        dialog.query_one("#operation-run", Button).press()
        await wait_until(pilot, lambda: not isinstance(app.screen, BackupScreen), "backup done")
    data = json.loads((tmp_path / field.value).read_text())
    items = next(t for t in data["tables"] if t["name"] == "items")
    assert items["rows"] == [{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}]


async def test_a_backup_never_replaces_a_file(tmp_path: Path, open_app: OpenApp) -> None:
    db = migrated_db(tmp_path)
    (tmp_path / "taken.sqlite").write_text("keep me")
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Back up the database")
        dialog = app.screen
        assert isinstance(dialog, BackupScreen)
        dialog.query_one("#backup-path", Input).value = "taken.sqlite"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is dialog
        assert dialog.query_one("#operation-run", Button).disabled
        assert "taken.sqlite exists" in plain(dialog.query_one("#operation-status"))
    assert (tmp_path / "taken.sqlite").read_text() == "keep me"


async def test_cancelling_a_backup_leaves_no_file(tmp_path: Path, open_app: OpenApp) -> None:
    db = tmp_path / "big.db"
    # About 130 MB of JSON: the backup runs for a while, reporting after every batch.
    execute(
        db,
        "CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600000) "
        "INSERT INTO big SELECT i, hex(randomblob(100)) FROM n",
    )
    before = files_beside(db)
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Back up the database")
        dialog = app.screen
        assert isinstance(dialog, BackupScreen)
        dialog.query_one(RadioSet).focus()
        await pilot.press("right", "right", "enter")  # json
        await pilot.pause()
        dialog.query_one("#operation-run", Button).press()
        await wait_until(pilot, lambda: dialog.job is not None and dialog.job.done > 0, "started")
        assert dialog.running
        await pilot.press("x")
        await wait_until(pilot, lambda: not isinstance(app.screen, BackupScreen), "cancelled")
        assert (
            await told(pilot, app, "Backup cancelled") == "Backup cancelled: no file was written."
        )
        assert dialog.job is not None and dialog.job.total is None
    assert files_beside(db) == before


async def test_reset_without_the_typed_name_does_nothing(tmp_path: Path, open_app: OpenApp) -> None:
    db = migrated_db(tmp_path)
    before = files_beside(db)
    async with open_app(db, source="migrations") as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Reset the database")
        dialog = app.screen
        assert isinstance(dialog, ResetScreen)
        assert dialog.query_one("#operation-run", Button).disabled
        assert "Type app.db to confirm" in plain(dialog.query_one("#operation-status"))
        await pilot.press(*"app.d", "enter")  # not the whole name: nothing runs
        await pilot.pause()
        assert app.screen is dialog and not dialog.running
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResetScreen)
    assert rows(db, "SELECT name FROM items ORDER BY id") == [("apple",), ("pear",)]
    assert files_beside(db) == before


async def test_typing_the_name_resets_the_database(tmp_path: Path, open_app: OpenApp) -> None:
    db = migrated_db(tmp_path)
    execute(db, "CREATE TABLE by_hand (x)", "INSERT INTO by_hand VALUES (1)")
    async with open_app(db, source="migrations") as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Reset the database")
        dialog = app.screen
        assert isinstance(dialog, ResetScreen)
        await pilot.press(*"app.db")
        await pilot.pause()
        assert not dialog.query_one("#operation-run", Button).disabled
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ResetScreen), "reset done")
        message = await told(pilot, app, "Reset app.db: ")
        assert message.startswith("Reset app.db: dropped 3 object(s), applied 1 migration(s)")
        backup = Path(message.rpartition("backup: ")[2])
        await settle(pilot)
        screen = main_screen(app)
        await wait_until(
            pilot,
            lambda: screen.schema_ is not None and screen.schema_.get("by_hand") is None,
            "the schema reread",
        )
    assert rows(db, "SELECT count(*) FROM items") == [(0,)]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name = 'by_hand'") == []
    assert backup.parent == tmp_path and mode(backup) == 0o600
    assert rows(backup, "SELECT name FROM items ORDER BY id") == [("apple",), ("pear",)]


async def test_restore_replaces_the_data_and_the_grid_shows_it(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = migrated_db(tmp_path)
    backup = run_backup(parse_url(str(db)), "sql", tmp_path / "saved.sql").path
    execute(db, "DELETE FROM items", "INSERT INTO items (name) VALUES ('changed since')")
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        screen.post_message(SchemaPane.DataRequested(Relation(None, "items")))
        pane = screen.query_one("#data-pane", DataPane)
        await wait_until(pilot, lambda: "changed since" in "\n".join(screen_lines(pane)), "grid")
        await open_from_palette(pilot, app, "Restore from a backup file")
        dialog = app.screen
        assert isinstance(dialog, RestoreScreen)
        assert dialog.query_one("#operation-run", Button).disabled
        await pilot.press(*"saved.sql")
        await pilot.pause()
        body = plain(dialog.query_one("#operation-body")).replace("\n", " ")
        assert f"Replaces app.db with the content of the backup   {backup} (a sql backup" in body
        assert "The database holds data: 2 tables with their rows" in body
        assert "snapshot" in body
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, RestoreScreen), "restored")
        message = await told(pilot, app, "Restored ")
        assert message.startswith(f"Restored app.db from the sql backup {backup}; ")
        snapshot = Path(message.rpartition("is kept in ")[2])
        await wait_until(
            pilot, lambda: "pear" in "\n".join(screen_lines(pane)), "the restored rows shown"
        )
        assert "changed since" not in "\n".join(screen_lines(pane))
    assert rows(db, "SELECT name FROM items ORDER BY id") == [("apple",), ("pear",)]
    assert rows(snapshot, "SELECT name FROM items") == [("changed since",)]


async def test_cancelling_a_restore_leaves_the_database_as_it_was(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = tmp_path / "app.db"
    execute(
        db,
        "CREATE TABLE big (id INTEGER PRIMARY KEY, payload TEXT)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "INSERT INTO big SELECT i, hex(randomblob(100)) FROM n",
    )
    run_backup(parse_url(str(db)), "sql", tmp_path / "saved.sql")
    execute(db, "DELETE FROM big WHERE id > 1", "UPDATE big SET payload = 'now'")
    before = files_beside(db)
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Restore from a backup file")
        dialog = app.screen
        assert isinstance(dialog, RestoreScreen)
        await pilot.press(*"saved.sql", "enter")
        await wait_until(pilot, lambda: dialog.job is not None and dialog.job.done > 0, "started")
        await pilot.press("x")
        message = await told(pilot, app, "Restore cancelled")
    assert message == "Restore cancelled: the database is unchanged."
    assert rows(db, "SELECT id, payload FROM big") == [(1, "now")]
    assert files_beside(db) == before  # no snapshot: the backup was still being loaded
    assert folders_in(tmp_path) == []  # nor its scratch database


async def test_check_shows_a_column_added_by_hand_as_drift(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = migrated_db(tmp_path)
    execute(db, "ALTER TABLE items ADD COLUMN note TEXT")
    async with open_app(db, source="migrations") as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Check the database")
        dialog = app.screen
        assert isinstance(dialog, CheckScreen)
        assert "migration state: against migrations" in plain(dialog.query_one("#operation-body"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ResultScreen), "the report")
        report = plain(app.screen.query_one("#result-lines"))
        title = plain(app.screen.query_one("#operation-title"))
    assert title.strip() == "Check: 1 problem(s)"
    assert "integrity: ok" in report and "migrations: ok (1 applied)" in report
    assert "drift: 1 object(s)" in report
    assert "changed table items:" in report
    assert (
        "database has CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)"
        in report
    )


async def test_repair_writes_the_new_file_it_names(tmp_path: Path, open_app: OpenApp) -> None:
    db = migrated_db(tmp_path)
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Repair into a new file")
        dialog = app.screen
        assert isinstance(dialog, RepairScreen)
        dialog.query_one("#repair-path", Input).value = "fixed.db"
        await pilot.pause()
        body = plain(dialog.query_one("#operation-body")).replace("\n", " ")
        assert "Backs up app.db beside it first (as app-<UTC timestamp>.sqlite)" in body
        assert str(tmp_path / "fixed.db") in body
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ResultScreen), "the report")
        message = await told(pilot, app, "Repaired into ")
        report = plain(app.screen.query_one("#result-lines"))
    assert message.startswith(f"Repaired into {tmp_path / 'fixed.db'} (passes integrity_check)")
    backup = Path(message.rpartition("backup: ")[2])
    assert "method: rebuild" in report
    assert rows(tmp_path / "fixed.db", "SELECT name FROM items ORDER BY id") == [
        ("apple",),
        ("pear",),
    ]
    assert rows(backup, "SELECT count(*) FROM items") == [(2,)]
    assert rows(db, "SELECT count(*) FROM items") == [(2,)]


async def test_a_hostile_file_name_reaches_the_screen_escaped(
    tmp_path: Path, open_app: OpenApp
) -> None:
    db = tmp_path / f"{HOSTILE}.db"
    execute(db, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    async with open_app(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_from_palette(pilot, app, "Back up the database")
        dialog = app.screen
        assert isinstance(dialog, BackupScreen)
        body = plain(dialog.query_one("#operation-body"))
        proposed = dialog.query_one("#backup-path", Input).value
        await pilot.press("enter")
        message = await told(pilot, app, "Backed up to ")
    assert "Copies " in body and raw_controls(body) == []
    assert "x1b]52" in body  # the database's name, shown as an escape
    # The backup's proposed name is drawn as typed: it holds none of the name's controls.
    assert raw_controls(proposed) == [] and raw_controls(message) == []
    backups = [name for name in files_beside(db) if name.endswith(".sqlite")]
    assert len(backups) == 1 and backups[0].startswith(file_stem(HOSTILE))


async def test_read_only_leaves_out_restore_and_reset(tmp_path: Path, open_app: OpenApp) -> None:
    db = migrated_db(tmp_path)
    async with open_app(db, read_only=True) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(main_screen(app))]
    assert "Back up the database" in titles and "Check the database" in titles
    assert "Repair into a new file" in titles
    assert "Restore from a backup file" not in titles and "Reset the database" not in titles
