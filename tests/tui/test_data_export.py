"""Pilot tests of exporting from the Data pane: `e`, a format, a path, progress, cancel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from textual.widgets import Input, ProgressBar

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import DataPane
from dbinspect.tui.data.export_dialog import ExportScreen
from tui.data_fixtures import BIG_CELL, ORDERS, PaneApp, build_big, build_shop, settle
from tui.helpers import palette_highlights, wait_until

SIZE = (120, 30)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return build_shop(tmp_path / "shop.db")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def notifications(app: PaneApp) -> list[str]:
    return [n.message for n in app._notifications]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_e_exports_the_table_to_csv_in_the_working_directory(
    shop: Path, workdir: Path
) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.query_one("#export-path", Input).value == "orders.csv"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        assert notifications(app)[-1] == f"Exported {ORDERS} rows to {workdir / 'orders.csv'}"
    limit = csv.field_size_limit(2_000_000)  # row 20 holds a 1,000,000-character note
    try:
        data = (workdir / "orders.csv").read_bytes().decode()
        records = list(csv.reader(io.StringIO(data, newline="")))
    finally:
        csv.field_size_limit(limit)
    assert records[0] == ["id", "user_id", "note", "data", "amount", "payload"]
    assert len(records) == ORDERS + 1
    assert records[4][2] == "first line\nsecond line"
    assert records[20][2] == BIG_CELL
    assert records[10][3] == "X'" + bytes(range(3, 43)).hex().upper() + "'"
    assert files_in(workdir) == ["orders.csv"]


async def test_json_lines_of_the_rows_as_sorted(shop: Path, workdir: Path) -> None:
    app = PaneApp(shop, "orders")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.action_sort(4)  # amount, ascending
        await settle(pilot)
        pane.action_sort(4)  # descending
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#export-format-jsonl")
        await pilot.pause()
        path = app.screen.query_one("#export-path", Input)
        assert path.value == "orders.jsonl"
        path.value = "sorted.jsonl"
        await pilot.press("enter")
        await settle(pilot)
    lines = (workdir / "sorted.jsonl").read_text().splitlines()
    assert [json.loads(line)["amount"] for line in lines] == [
        float(i) for i in range(ORDERS, 0, -1)
    ]
    assert json.loads(lines[-10])["data"] == {"$blob": bytes(range(3, 43)).hex()}


async def test_an_existing_file_is_replaced_only_on_a_second_enter(
    shop: Path, workdir: Path
) -> None:
    (workdir / "users.sql").write_text("keep\n")
    app = PaneApp(shop, "users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#export-format-sql")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        assert "exists" in str(app.screen.query_one("#export-status").render())
        assert (workdir / "users.sql").read_text() == "keep\n"
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
    conn.executescript((workdir / "users.sql").read_text())
    assert conn.execute("SELECT count(*), max(email) FROM users").fetchone() == (
        50,
        "u9@example.com",
    )
    conn.close()


async def test_escape_cancels_a_running_export_and_leaves_no_file(
    tmp_path: Path, workdir: Path
) -> None:
    database = build_big(tmp_path / "big.db", rows=2_000)
    app = PaneApp(database, "heavy")  # 4,000,000 rows of a join: far from done when cancelled
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExportScreen)
        await pilot.press("enter")
        bar = screen.query_one("#export-progress", ProgressBar)
        await wait_until(pilot, lambda: bar.progress, "the export's first rows written")
        assert 0 < bar.progress < 4_000_000
        assert any(name.endswith(".part") for name in files_in(workdir))
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ExportScreen)
        assert notifications(app)[-1] == "Export cancelled: no file was written"
    assert files_in(workdir) == []


async def test_a_path_that_cannot_be_written_says_why_and_keeps_the_dialog(
    shop: Path, workdir: Path
) -> None:
    app = PaneApp(shop, "kv")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#export-path", Input).value = "no/such/folder/kv.csv"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExportScreen)
        status = str(app.screen.query_one("#export-status").render())
        assert status.startswith("Export failed: cannot write") and "kv.csv" in status
    assert files_in(workdir) == []


async def test_the_palette_offers_the_export(shop: Path, workdir: Path) -> None:
    app = PaneApp(shop, "users")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"export rows")
        await pilot.pause()
        await wait_until(pilot, lambda: palette_highlights(app, "export rows"), "the command found")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.query_one("#export-path", Input).value == "users.csv"
