"""Pilot tests of the Query pane (key 7) on PostgreSQL: run, cancel, history, completion,
export, write mode, refused writes and failing statements, each in a fresh database.

The database is checked through a connection of the test's own after each write.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from pgkit import query, run_sql
from textual.pilot import Pilot
from tui.helpers import SIZE, main_screen, screen_text, settle, wait_until
from tui.query_kit import (
    cancel_running,
    commit_question,
    completions,
    finished,
    grid_lines,
    grid_rows,
    history_file,
    labels,
    message,
    mode,
    open_query,
    run,
    shown,
    status,
    type_text,
    write,
)

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data import CACHE_ROWS
from dbinspect.tui.data.export_dialog import ExportScreen
from dbinspect.tui.query import QueryPane, dialogs
from dbinspect.tui.query.dialogs import CommitScreen
from dbinspect.tui.screens.dialogs import ConfirmScreen
from dbinspect.tui.session import Session

SHOP = """
CREATE TABLE customers (id integer PRIMARY KEY, name text, city text, postcode text, phone text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer, total_cents integer);
INSERT INTO customers VALUES
    (1, 'Ann', 'Oslo', '0150', NULL), (2, 'Bob', 'Rome', '00118', NULL),
    (3, 'Cy', 'Lima', '15001', NULL);
INSERT INTO orders SELECT i, 1 + i % 3, i * 150 FROM generate_series(1, 2500) i;
"""


@pytest.fixture
def shop(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database holding customers and their orders; the working directory a temp one."""
    monkeypatch.chdir(tmp_path)
    run_sql(pg_url, SHOP)
    return pg_url


@asynccontextmanager
async def open_app(url: str, *, read_only: bool = False) -> AsyncIterator[DbInspectApp]:
    settings = resolve_settings(database=url, cwd=Path.cwd())
    assert settings.url is not None
    backend = await open_backend(settings.url)
    session = Session(
        settings,
        settings.url,
        ConnectionOwner(settings.url, panes=backend),
        read_only_reason="opened with --read-only" if read_only else None,
        cwd=Path.cwd(),
    )
    try:
        yield DbInspectApp(session)
    finally:
        await session.connections.aclose()


async def open_console(pilot: Pilot[None], app: DbInspectApp) -> QueryPane:
    """The Query pane, once the schema's columns are read (completion offers them)."""
    screen = main_screen(app)
    await wait_until(
        pilot,
        lambda: screen.schema_ is not None and any(o.columns for o in screen.schema_.objects),
        "the schema's columns read",
    )
    return await open_query(pilot, app)


def names(url: str) -> list[object]:
    return [row[0] for row in query(url, "SELECT name FROM customers ORDER BY id")]


# Running ------------------------------------------------------------------------------------


async def test_the_console_reconnects_after_its_session_ended(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "select pg_backend_pid()")
        [[pid]] = grid_rows(pane)
        run_sql(shop, f"SELECT pg_terminate_backend({pid})")
        await run(pilot, pane, "select 41 + 1 as answer")  # may meet the ended session
        if grid_rows(pane) != [["42"]]:
            assert "was lost" in message(pane), message(pane)
            await run(pilot, pane, "select 41 + 1 as answer")
        assert grid_rows(pane) == [["42"]], message(pane)


async def test_the_statement_under_the_cursor_runs_and_its_rows_show(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        assert mode(pane) == "read-only"
        write(pane, "select 1;\nselect id, name, city from customers\n  order by id desc;\n")
        pane.editor.move_cursor((1, 3))  # inside the second statement
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert shown(pane) == "query-results"
        assert grid_lines(pane)[0].split() == ["id", "name", "city"]
        assert grid_rows(pane) == [["3", "Cy", "Lima"], ["2", "Bob", "Rome"], ["1", "Ann", "Oslo"]]
        assert "3 rows" in screen_text(app)
        write(pane, "select 'not this';\nselect 'this one' as picked;")
        pane.editor.select_line(1)
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_rows(pane) == [["this", "one"]]


async def test_escape_cancels_a_long_statement_on_the_server(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        write(pane, "select pg_sleep(30)")
        await pilot.press("ctrl+j")
        took = await cancel_running(pilot, pane, "cancelled")
        assert took < 2, f"the cancel took {took:.2f} s"
        assert "failed: cancelled" in message(pane)
        assert "running" not in status(pane) and "esc cancels" not in status(pane)
        sleeping = query(
            shop, "SELECT count(*) FROM pg_stat_activity WHERE query = 'select pg_sleep(30)'"
        )
        assert sleeping == [(0,)]
        await run(pilot, pane, "select count(*) from orders")
        assert grid_rows(pane) == [["2500"]]


async def test_a_million_rows_scroll_to_the_end_within_a_bounded_window(shop: str) -> None:
    sql = "select x, 'row ' || x as label from generate_series(1, 1000000) x"
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, sql)
        results = pane.results
        assert grid_rows(pane)[0] == ["1", "row", "1"]
        await wait_until(pilot, lambda: results.exact, "the row count")
        assert results.total == 1_000_000
        assert "1,000,000 rows" in screen_text(app)
        await pilot.press("escape")
        assert results.grid.has_focus
        await pilot.press("end")
        await wait_until(
            pilot,
            lambda: grid_rows(pane) and grid_rows(pane)[-1] == ["1000000", "row", "1000000"],
            "the last row shown",
        )
        await settle(pilot)
        cursor = results.grid.cursor_cached_row
        assert cursor is not None and cursor.values == (1_000_000, "row 1000000")
        assert len(results.window) <= CACHE_ROWS
        assert results.window.peak <= CACHE_ROWS
        await pilot.press("home")
        await wait_until(pilot, lambda: grid_rows(pane)[0] == ["1", "row", "1"], "the first row")


# History and completion ---------------------------------------------------------------------


async def test_history_is_kept_in_the_data_dir_and_recalled_with_up(
    shop: str, private_data_dir: Path
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "select 'first'")
        await run(pilot, pane, "select name from customers where id = 2")
        assert history_file(private_data_dir) == [
            "select 'first'",
            "select name from customers where id = 2",
        ]
        await pilot.press("ctrl+n")
        assert pane.editor.text == ""
        await pilot.press("up")
        assert pane.editor.text == "select name from customers where id = 2"
        await pilot.press("up")
        assert pane.editor.text == "select 'first'"
        await pilot.press("down", "down")
        assert pane.editor.text == ""
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        assert len(pane.buffers.buffers) == 2
        write(pane, "")
        await pilot.press("up")
        assert pane.editor.text == "select name from customers where id = 2"
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_rows(pane) == [["Bob"]]


async def test_tab_completes_a_column_and_steers_the_list(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        editor = pane.editor
        write(pane, "select  from customers c where c.id = 3")
        editor.move_cursor((0, 7))
        await type_text(pilot, "c.ci")
        await pilot.press("tab")
        assert editor.text == "select c.city from customers c where c.id = 3"
        assert completions(pane) == []
        await type_text(pilot, ", c.p")
        await pilot.press("tab")
        offered = completions(pane)
        assert sorted(offered) == ["phone", "postcode"]
        assert editor.has_focus
        await pilot.press("down", "tab")
        assert editor.text == f"select c.city, c.{offered[1]} from customers c where c.id = 3"
        assert completions(pane) == []
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_lines(pane)[0].split() == ["city", offered[1]]
        assert grid_rows(pane)[0][0] == "Lima"


# Export -------------------------------------------------------------------------------------


async def test_a_result_exports_to_csv_through_the_export_dialog(shop: str) -> None:
    sql = (
        "select o.id, c.name, o.total_cents from orders o"
        " join customers c on c.id = o.customer_id order by o.id"
    )
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, sql)
        await pilot.press("escape", "e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
        path = app.screen.query_one("#export-path")
        path.value = "orders.csv"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")
        await settle(pilot)
        assert any("Exported 2,500 rows" in n.message for n in app._notifications)
    with (Path.cwd() / "orders.csv").open(newline="") as file:
        records = list(csv.reader(file))
    assert records[0] == ["id", "name", "total_cents"]
    assert len(records) == 2501
    assert [(int(i), n, int(t)) for i, n, t in records[1:]] == query(shop, sql)


# Writes -------------------------------------------------------------------------------------


async def test_a_write_is_refused_until_write_mode_is_on(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "delete from customers")
        assert "read-only: this statement writes; switch write mode on" in message(pane)
        await run(pilot, pane, "create table t (x int)")
        assert "failed: read-only" in message(pane)
    assert names(shop) == ["Ann", "Bob", "Cy"]
    assert query(shop, "SELECT count(*) FROM pg_tables WHERE tablename = 't'") == [(0,)]


async def test_write_mode_commits_on_c(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await pilot.press("ctrl+t")
        assert mode(pane) == "WRITE MODE"
        write(pane, "update customers set name = upper(name) where id <= 2")
        await pilot.press("ctrl+j")
        question = await commit_question(pilot, app)
        assert "changed 2 rows." in labels(question)
        assert names(shop) == ["Ann", "Bob", "Cy"]
        await pilot.press("c")
        await finished(pilot, pane)
        assert names(shop) == ["ANN", "BOB", "Cy"]
        assert "where id <= 2: 2 rows changed; committed" in message(pane)


async def test_write_mode_rolls_back_on_r(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, "insert into customers (id, name) values (4, 'Dee') returning id, name")
        await pilot.press("ctrl+j")
        await commit_question(pilot, app)
        await pilot.press("r")
        await finished(pilot, pane)
        assert names(shop) == ["Ann", "Bob", "Cy"]
        assert grid_rows(pane) == [["4", "Dee"]]
        notes = " ".join(n.message for n in app._notifications)
        assert "rolled back" in notes and "returned before the rollback" in notes


async def test_an_unanswered_write_rolls_back_after_the_timeout(
    shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs, "COMMIT_TIMEOUT_S", 1.5)
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, "delete from customers where id = 1")
        await pilot.press("ctrl+j")
        question = await commit_question(pilot, app)
        assert "changed 1 row." in labels(question)
        # The countdown (1.5 s here) may already be past 1 on a loaded machine.
        assert re.search(r"rolled back in [01] s", labels(question)), labels(question)
        # Meanwhile the row's lock is held: another writer of it waits.
        with pytest.raises(psycopg.errors.LockNotAvailable):
            run_sql(
                shop, "SET lock_timeout = '200ms'; UPDATE customers SET city = 'x' WHERE id = 1"
            )
        await wait_until(pilot, lambda: not isinstance(app.screen, CommitScreen), "the timeout", 5)
        await finished(pilot, pane)
        assert "rolled back after 1.5 s without an answer" in message(pane)
    assert names(shop) == ["Ann", "Bob", "Cy"]


async def test_write_mode_stays_off_in_a_read_only_session(shop: str) -> None:
    async with open_app(shop, read_only=True) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await pilot.press("ctrl+t")
        assert mode(pane) == "read-only"
        assert any("opened read-only" in n.message for n in app._notifications)
        await run(pilot, pane, "delete from customers")
        assert "failed: read-only" in message(pane)
    assert names(shop) == ["Ann", "Bob", "Cy"]


# Failures -----------------------------------------------------------------------------------


async def test_a_syntax_error_selects_where_postgresql_places_it(shop: str) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "select 1;\nselect *\n  form customers;", key="f5")
        assert 'statement 2: select * failed: syntax error at or near "form"' in message(pane)
        assert pane.editor.selected_text == "form"
        assert pane.editor.selection.start == (2, 2)


async def test_the_second_of_three_statements_fails_and_the_third_does_not_run(
    shop: str,
) -> None:
    script = (
        "update customers set city = 'Bergen' where id = 1;\n"
        "insert into customers (id, name) values (2, 'Again');\n"
        "delete from customers where id = 3;\n"
    )
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, script)
        await pilot.press("f5")
        await commit_question(pilot, app)
        await pilot.press("c")
        await finished(pilot, pane)
        text = message(pane)
        assert "statement 1: update customers set city = 'Bergen' where id = 1: " in text
        assert "1 row changed; committed" in text
        assert "(2, 'Again') failed: duplicate key value violates unique constraint" in text
        assert "1 statement before it ran; the rest did not" in text
        assert "statement 3" not in text
    assert query(shop, "select id, name, city from customers order by id") == [
        (1, "Ann", "Bergen"),
        (2, "Bob", "Rome"),
        (3, "Cy", "Lima"),
    ]


async def test_each_result_of_a_run_all_is_shown_in_turn_with_f3(shop: str) -> None:
    # Each statement's cursor closes when the next one runs: an earlier result is kept.
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        many = "select x from generate_series(1, 1500) as x order by x"
        script = (
            f"select count(*) from customers;\n{many};\nselect name from customers order by id;"
        )
        await run(pilot, pane, script, key="f5")
        assert grid_rows(pane) == [["Ann"], ["Bob"], ["Cy"]]
        assert "result 3 of 3" in status(pane)
        await pilot.press("f3")
        await settle(pilot)
        assert grid_rows(pane) == [["3"]]
        await pilot.press("f3")
        await settle(pilot)
        assert "result 2 of 3" in status(pane)
        assert "the first 1,000 rows kept" in status(pane)
        pane.results.grid.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: grid_rows(pane)[-1:] == [["1000"]], "the last row kept")


# A result's transaction ----------------------------------------------------------------------


def alter_orders(url: str) -> str | None:
    """Add a column to `orders` from a session of the test's own; the error if it waited
    for a lock longer than a second."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '1s'")
            conn.execute("ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text")
    except psycopg.errors.LockNotAvailable as error:
        return str(error)
    return None


async def test_a_result_left_unread_lets_go_of_its_tables(
    shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbinspect.tui.query import pane as query_pane

    monkeypatch.setattr(query_pane, "RESULT_IDLE_S", 1.2)
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "select id, total_cents from orders order by id")
        assert grid_rows(pane)[0] == ["1", "150"]
        # The result's cursor holds `orders` while it is read: another session waits.
        assert alter_orders(shop) is not None
        await wait_until(pilot, lambda: alter_orders(shop) is None, "the lock let go", 10)
        # The rows shown stay; one not read yet says how to have it.
        await pilot.press("escape", "end")  # to the grid, then its last row
        await wait_until(pilot, lambda: "run the statement again" in message_of(app), "the note")
        assert "closed after 1 s without reading" in message_of(app)


def message_of(app: DbInspectApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def test_the_apps_own_migration_run_is_not_held_back_by_a_result(
    shop: str, tmp_path: Path
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_note.sql").write_text("ALTER TABLE orders ADD COLUMN note text;\n")
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app)
        await run(pilot, pane, "select id from orders order by id")
        assert alter_orders(shop) is not None  # the result holds `orders`
        await pilot.press("escape", "5")
        await settle(pilot)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_until(
            pilot,
            lambda: query(shop, "SELECT count(*) FROM _sqlx_migrations WHERE success") == [(1,)],
            "the migration applied",
            15,
        )
        assert query(shop, "SELECT count(*) FROM information_schema.columns WHERE column_name"
                           " = 'note'") == [(1,)]  # fmt: skip
        # The console opens again on the next run.
        await pilot.press("7")
        await run(pilot, pane, "select count(*) from orders")
        assert grid_rows(pane) == [["2500"]]
