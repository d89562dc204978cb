"""The palette's backup on a PostgreSQL server: the json format, through the driver alone."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pgkit import fresh_database, query, run_sql
from textual.pilot import Pilot
from textual.widgets import Button, Input, RadioSet
from tui.helpers import SIZE, main_screen, palette_highlights, plain, settle, wait_until

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.migrate.runner import run_migrations
from dbinspect.ops.backup import run_backup
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.screens.operation_dialogs import BackupScreen, ResetScreen, RestoreScreen
from dbinspect.tui.session import Session
from dbinspect.url import parse_url


@asynccontextmanager
async def open_app(url: str, cwd: Path, source: str | None = None) -> AsyncIterator[DbInspectApp]:
    settings = resolve_settings(database=url, source=source, cwd=cwd)
    assert settings.url is not None
    backend = await open_backend(settings.url)
    session = Session(settings, settings.url, ConnectionOwner(settings.url, panes=backend), cwd=cwd)
    try:
        yield DbInspectApp(session)
    finally:
        await session.connections.aclose()


def told(app: DbInspectApp) -> list[str]:
    """The backup's notifications so far."""
    return [n.message for n in app._notifications if n.message.startswith("Backed up")]


def read_backup(path: Path) -> tuple[int, dict[str, object]]:
    return stat.S_IMODE(path.stat().st_mode), json.loads(path.read_text())


async def test_a_json_backup_from_the_palette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a server's backup goes by default
    with fresh_database("dbi_ops") as url:
        run_sql(
            url,
            'CREATE TABLE "odd [name]" (id int PRIMARY KEY, note text, at date);'
            "INSERT INTO \"odd [name]\" VALUES (1, 'first', '2026-01-02'), (2, NULL, NULL);",
        )
        name = url.rpartition("/")[2]
        async with open_app(url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await run_backup_dialog(pilot, app)
            dialog = app.screen
            assert isinstance(dialog, BackupScreen)
            field = dialog.query_one("#backup-path", Input)
            assert field.value.startswith(f"{name}-") and field.value.endswith(".json")
            dialog.query_one("#operation-run", Button).press()
            await wait_until(pilot, lambda: not isinstance(app.screen, BackupScreen), "done")
            target = tmp_path / field.value
            await wait_until(pilot, lambda: told(app), "the outcome told")
            message = told(app)[-1]
    assert message.startswith(f"Backed up to {target} (") and "2 rows" in message
    mode, data = read_backup(target)
    assert mode == 0o600
    assert data["backend"] == "postgres"
    tables = data["tables"]
    assert isinstance(tables, list)
    assert tables == [
        {
            "schema": "public",
            "name": "odd [name]",
            "columns": ["id", "note", "at"],
            "rows": [
                {"id": "1", "note": "first", "at": "2026-01-02"},
                {"id": "2", "note": None, "at": None},
            ],
        }
    ]


async def test_restore_from_the_palette_swaps_the_database_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with fresh_database("dbi_ops") as url:
        # A policy for a role that is gone from the server by the time of the restore.
        role = f"{url.rpartition('/')[2]}_gone"
        run_sql(
            url,
            "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'kept');"
            f'CREATE ROLE "{role}"; CREATE POLICY only_gone ON t TO "{role}" USING (true);',
        )
        # (The json backup reads the structure with asyncio.run: a thread of its own here.)
        done = await asyncio.to_thread(run_backup, parse_url(url), "json", tmp_path / "saved.json")
        backup = done.path
        run_sql(url, f'DROP POLICY only_gone ON t; DROP ROLE "{role}";')
        run_sql(url, "UPDATE t SET v = 'changed since'; CREATE TABLE later (x int);")
        async with open_app(url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"restore from a backup file")
            await wait_until(pilot, lambda: palette_highlights(app, "Restore from"), "found")
            await pilot.press("enter")
            await pilot.pause()
            dialog = app.screen
            assert isinstance(dialog, RestoreScreen)
            await pilot.press(*"saved.json")
            await pilot.pause()
            body = plain(dialog.query_one("#operation-body")).replace("\n", " ")
            assert "The database holds data: 2 tables with their rows" in body
            await pilot.press("enter")
            await wait_until(
                pilot, lambda: [n for n in app._notifications if "Restored" in n.message], "done"
            )
            message = [n.message for n in app._notifications if "Restored" in n.message][-1]

            def notes() -> list[str]:
                return [n.message for n in app._notifications if n.message.startswith("Policy")]

            # Each notification is a message of its own, handled after the one before.
            await wait_until(pilot, notes, "the note after the restore's notification")
            snapshot = message.rpartition("kept as the database ")[2]
            screen = main_screen(app)
            await wait_until(
                pilot,
                lambda: screen.schema_ is not None and screen.schema_.get("later") is None,
                "the panes read the restored database",
            )
        try:
            assert message.startswith(f"Restored {url} from the json backup {backup}; ")
            assert notes() == [
                f"Policy only_gone on public.t names roles that do not exist on this server "
                f"({role}): so the policy is left out"
            ]
            assert query(url, "SELECT id, v FROM t") == [(1, "kept")]
            assert query(url, "SELECT to_regclass('later') IS NULL") == [(True,)]
            assert snapshot.startswith(url.rpartition("/")[2][:20]) and backup.exists()
        finally:
            run_sql(url.rpartition("/")[0] + "/postgres", f'DROP DATABASE IF EXISTS "{snapshot}"')


async def test_reset_from_the_palette_after_the_name_is_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_items.sql").write_text("CREATE TABLE items (id int PRIMARY KEY, v text);\n")
    with fresh_database("dbi_ops") as url:
        await asyncio.to_thread(run_migrations, parse_url(url), folder)
        run_sql(url, "INSERT INTO items VALUES (1, 'gone after the reset')")
        name = url.rpartition("/")[2]
        async with open_app(url, tmp_path, source="migrations") as app:
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                await pilot.press("ctrl+p")
                await pilot.pause()
                await pilot.press(*"reset the database")
                await wait_until(pilot, lambda: palette_highlights(app, "Reset the"), "found")
                await pilot.press("enter")
                await pilot.pause()
                dialog = app.screen
                assert isinstance(dialog, ResetScreen)
                await pilot.press(*name[:-1], "enter")  # one character short: nothing runs
                await pilot.pause()
                assert app.screen is dialog and not dialog.running
                await pilot.press(name[-1], "enter")
                await wait_until(
                    pilot, lambda: [n for n in app._notifications if "Reset " in n.message], "done"
                )
                message = [n.message for n in app._notifications if "Reset " in n.message][-1]
        assert message.startswith(f"Reset {url}: dropped ")
        assert "applied 1 migration(s); backup: " in message
        assert query(url, "SELECT count(*) FROM items") == [(0,)]
        assert Path(message.rpartition("backup: ")[2]).parent == tmp_path


async def run_backup_dialog(pilot: Pilot[None], app: DbInspectApp) -> None:
    """Open the backup from the palette and pick the json format (sql, custom, json)."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*"back up the database")
    await wait_until(pilot, lambda: palette_highlights(app, "Back up the database"), "found")
    await pilot.press("enter")
    await pilot.pause()
    app.screen.query_one(RadioSet).focus()
    await pilot.press("right", "right", "enter")
    await pilot.pause()
