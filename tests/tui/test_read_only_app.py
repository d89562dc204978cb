"""The app on a database it cannot write: the header says so and every write key says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dbinspect.backends.sqlite_files import write_access_problem
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.screens.dialogs import ConfirmScreen
from tui.helpers import SIZE, OpenApp, plain, settle

SAMPLE = Path(__file__).resolve().parent.parent.parent / "dbinspect" / "sample_migrations"


async def test_the_app_on_a_mode_ro_url_explains_every_write_key(
    tmp_path: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "app.db"
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    shutil.copytree(SAMPLE, tmp_path / "migrations")
    reason = write_access_problem(database, "ro")
    async with (
        open_app(database, read_only_reason=reason) as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        assert "[read-only]" in plain(app.screen.query_one("#status-line"))
        await pilot.press("5")
        for key in "aArt":
            await pilot.press(key)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert "mode=ro" in [n.message for n in app._notifications][-1]
