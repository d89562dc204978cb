"""Pilot tests of the Query pane (key 7) on a SQLite file: run, cancel, history, completion,
export, write mode, refused writes and failing statements.

The database is checked through a connection of the test's own after each write.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from textual.widgets import Label
from textual.widgets.text_area import TextAreaTheme

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import CACHE_ROWS
from dbinspect.tui.data.export_dialog import ExportScreen
from dbinspect.tui.query import dialogs
from dbinspect.tui.query.dialogs import CommitScreen
from tui.helpers import SIZE, OpenApp, palette_highlights, screen_text, settle, wait_until
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

CUSTOMERS = [(1, "Ann", "Oslo", "0150"), (2, "Bob", "Rome", "00118"), (3, "Cy", "Lima", "15001")]
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`shop.db` in the working directory: customers and their orders."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(
            """
            CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT, postcode TEXT,
                                    phone TEXT);
            CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL);
            """
        )
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, NULL)", CUSTOMERS)
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?)",
            [(i, 1 + i % 3, i * 1.5) for i in range(1, 2501)],
        )
    conn.close()
    return path


def rows_of(path: Path, sql: str) -> list[tuple[object, ...]]:
    """The rows of `sql`, read through a connection of the test's own."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def names(path: Path) -> list[object]:
    return [row[0] for row in rows_of(path, "SELECT name FROM customers ORDER BY id")]


# Running ------------------------------------------------------------------------------------


async def test_the_statement_under_the_cursor_runs_and_its_rows_show(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        assert mode(pane) == "read-only"
        write(pane, "select 1;\nselect id, name, city from customers\n  order by id desc;\n")
        pane.editor.move_cursor((1, 3))  # inside the second statement
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert shown(pane) == "query-results"
        assert grid_lines(pane)[0].split() == ["id", "name", "city"]
        assert grid_rows(pane) == [["3", "Cy", "Lima"], ["2", "Bob", "Rome"], ["1", "Ann", "Oslo"]]
        assert "3 rows" in screen_text(app)
        # The selection runs instead of the statement around it.
        write(pane, "select 'not this';\nselect 'this one' as picked;")
        pane.editor.select_line(1)
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_rows(pane) == [["this", "one"]]


async def test_escape_cancels_a_long_statement_with_an_interrupt(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        write(pane, ENDLESS)
        await pilot.press("ctrl+j")
        took = await cancel_running(pilot, pane, "cancelled")
        assert took < 2, f"the cancel took {took:.2f} s"
        assert "failed: cancelled" in message(pane)
        # The console answers the next statement.
        await run(pilot, pane, "select count(*) from orders")
        assert grid_rows(pane) == [["2500"]]


async def test_five_million_rows_scroll_to_the_end_within_a_bounded_window(
    shop: Path, open_app: OpenApp
) -> None:
    sql = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 5000000)\n"
        "SELECT x, 'row ' || x AS label FROM c"
    )
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, sql)
        results = pane.results
        assert grid_rows(pane)[0] == ["1", "row", "1"]
        await wait_until(pilot, lambda: results.exact, "the row count")
        assert results.total == 5_000_000
        assert "5,000,000 rows" in screen_text(app)
        await pilot.press("escape")  # to the grid
        assert results.grid.has_focus
        await pilot.press("end")
        await wait_until(
            pilot,
            lambda: grid_rows(pane) and grid_rows(pane)[-1] == ["5000000", "row", "5000000"],
            "the last row shown",
        )
        await settle(pilot)
        cursor = results.grid.cursor_cached_row
        assert cursor is not None and cursor.values == (5_000_000, "row 5000000")
        assert len(results.window) <= CACHE_ROWS
        assert results.window.peak <= CACHE_ROWS
        # Back to the top: the statement runs again from its first row.
        await pilot.press("home")
        await wait_until(pilot, lambda: grid_rows(pane)[0] == ["1", "row", "1"], "the first row")


# History and completion ---------------------------------------------------------------------


async def test_history_is_kept_in_the_data_dir_and_recalled_with_up(
    shop: Path, open_app: OpenApp, private_data_dir: Path
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, "select 'first'")
        await run(pilot, pane, "select name from customers where id = 2")
        assert history_file(private_data_dir) == [
            "select 'first'",
            "select name from customers where id = 2",
        ]
        await pilot.press("ctrl+n")  # a new, empty buffer
        assert pane.editor.text == ""
        await pilot.press("up")
        assert pane.editor.text == "select name from customers where id = 2"
        await pilot.press("up")
        assert pane.editor.text == "select 'first'"
        await pilot.press("down", "down")
        assert pane.editor.text == ""
    # A restart reads the history back; the buffers were kept too.
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        assert len(pane.buffers.buffers) == 2
        write(pane, "")
        await pilot.press("up")
        assert pane.editor.text == "select name from customers where id = 2"
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_rows(pane) == [["Bob"]]


async def test_tab_completes_a_column_and_steers_the_list(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        editor = pane.editor
        write(pane, "select  from customers c where c.id = 3")
        editor.move_cursor((0, 7))
        await type_text(pilot, "c.ci")
        await pilot.press("tab")  # one candidate: taken at once
        assert editor.text == "select c.city from customers c where c.id = 3"
        assert completions(pane) == []
        await type_text(pilot, ", c.p")
        await pilot.press("tab")  # two: a list, the editor keeps the focus
        offered = completions(pane)
        assert sorted(offered) == ["phone", "postcode"]
        assert editor.has_focus
        await pilot.press("down", "tab")
        expected = f"select c.city, c.{offered[1]} from customers c where c.id = 3"
        assert editor.text == expected
        assert completions(pane) == []
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        assert grid_lines(pane)[0].split() == ["city", offered[1]]
        assert grid_rows(pane)[0][0] == "Lima"
        write(pane, "select * from ord")
        await pilot.press("tab")  # after FROM: relations first, then keywords (ORDER)
        assert completions(pane)[:2] == ["orders", "order"]  # lower case as typed
        await pilot.press("enter")
        assert editor.text == "select * from orders"


# Export -------------------------------------------------------------------------------------


async def test_a_result_exports_to_csv_through_the_export_dialog(
    shop: Path, open_app: OpenApp
) -> None:
    sql = "select o.id, c.name, o.total from orders o join customers c on c.id = o.customer_id"
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, sql + " order by o.id")
        await pilot.press("escape", "e")  # to the grid, then its export key
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), "the export dialog")
        path = app.screen.query_one("#export-path")
        path.value = "orders.csv"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), "the export")
        await settle(pilot)
        assert any("Exported 2,500 rows" in n.message for n in app._notifications)
    with (shop.parent / "orders.csv").open(newline="") as file:
        records = list(csv.reader(file))
    assert records[0] == ["id", "name", "total"]
    expected = rows_of(shop, sql + " order by o.id")
    assert len(records) == 2501
    assert [(int(i), n, float(t)) for i, n, t in records[1:]] == expected


# Writes -------------------------------------------------------------------------------------


async def test_a_write_is_refused_until_write_mode_is_on(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, "delete from customers")
        assert "read-only: this statement writes; switch write mode on" in message(pane)
        for sql in ("attach database 'x.db' as x", "pragma writable_schema = 1"):
            await run(pilot, pane, sql)
            assert "failed" in message(pane), sql
        assert names(shop) == ["Ann", "Bob", "Cy"]
        assert not (shop.parent / "x.db").exists()


async def test_write_mode_commits_on_c(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await pilot.press("ctrl+t")
        assert mode(pane) == "WRITE MODE"
        write(pane, "update customers set name = upper(name) where id <= 2")
        await pilot.press("ctrl+j")
        question = await commit_question(pilot, app)
        assert "changed 2 rows." in labels(question)
        assert names(shop) == ["Ann", "Bob", "Cy"]  # not committed yet
        await pilot.press("c")
        await finished(pilot, pane)
        assert question.is_attached is False
        assert names(shop) == ["ANN", "BOB", "Cy"]
        assert "where id <= 2: 2 rows changed; committed" in message(pane)


async def test_write_mode_rolls_back_on_r(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, "insert into customers (name) values ('Dee') returning id, name")
        await pilot.press("ctrl+j")
        await commit_question(pilot, app)
        await pilot.press("r")
        await finished(pilot, pane)
        assert names(shop) == ["Ann", "Bob", "Cy"]
        assert grid_rows(pane) == [["4", "Dee"]]  # RETURNING's rows, shown all the same
        notes = " ".join(n.message for n in app._notifications)
        assert "rolled back" in notes and "returned before the rollback" in notes


async def test_an_unanswered_write_rolls_back_after_the_timeout(
    shop: Path, open_app: OpenApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dialogs, "COMMIT_TIMEOUT_S", 1.5)
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, "delete from customers where id = 1")
        await pilot.press("ctrl+j")
        question = await commit_question(pilot, app)
        assert "changed 1 row." in labels(question)
        # The countdown (1.5 s here) may already be past 1 on a loaded machine.
        assert re.search(r"rolled back in [01] s", labels(question)), labels(question)
        # Meanwhile the write lock is held: another writer is refused.
        other = sqlite3.connect(shop, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("insert into orders (customer_id, total) values (1, 1)")
        other.close()
        await wait_until(pilot, lambda: not isinstance(app.screen, CommitScreen), "the timeout", 5)
        await finished(pilot, pane)
        assert "rolled back after 1.5 s without an answer" in message(pane)
    assert names(shop) == ["Ann", "Bob", "Cy"]
    assert rows_of(shop, "select count(*) from orders") == [(2500,)]


async def test_write_mode_stays_off_in_a_read_only_session(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop, read_only=True) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await pilot.press("ctrl+t")
        assert mode(pane) == "read-only"
        assert any("opened read-only" in n.message for n in app._notifications)
        await run(pilot, pane, "delete from customers")
        assert "failed: read-only" in message(pane)
    assert names(shop) == ["Ann", "Bob", "Cy"]


# Failures -----------------------------------------------------------------------------------


async def test_a_syntax_error_selects_the_token_sqlite_names(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, "select 1;\nselect *\n  form customers;", key="f5")
        assert 'statement 2: select * failed: near "form": syntax error' in message(pane)
        assert pane.editor.selected_text == "form"
        assert pane.editor.selection.start == (2, 2)


async def test_the_second_of_three_statements_fails_and_the_third_does_not_run(
    shop: Path, open_app: OpenApp
) -> None:
    script = (
        "update customers set city = 'Bergen' where id = 1;\n"
        "insert into customers (id, name) values (2, 'Again');\n"
        "delete from customers where id = 3;\n"
    )
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await pilot.press("ctrl+t")
        write(pane, script)
        await pilot.press("f5")
        await commit_question(pilot, app)  # statement 1's update
        await pilot.press("c")
        await finished(pilot, pane)
        text = message(pane)
        assert "statement 1: update customers set city = 'Bergen' where id = 1: " in text
        assert "1 row changed; committed" in text
        assert "(2, 'Again') failed: UNIQUE constraint failed: customers.id" in text
        assert "1 statement before it ran; the rest did not" in text
        assert "statement 3" not in text
    assert rows_of(shop, "select id, name, city from customers order by id") == [
        (1, "Ann", "Bergen"),
        (2, "Bob", "Rome"),
        (3, "Cy", "Lima"),
    ]


async def test_closing_a_buffer_drops_it_and_shows_the_next(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        pane.editor.load_text("select 1")
        pane.action_new_buffer()
        pane.editor.load_text("select 2")
        assert pane.buffers.names == ["Query 1", "Query 2"]
        pane.action_close_buffer()
        assert pane.buffers.names == ["Query 1"]
        assert pane.editor.text == "select 1"
        saved = pane.buffers.path.read_text()
        assert "select 2" not in saved and "select 1" in saved


async def test_switching_buffers_and_recalling_keep_one_document_and_no_undo(
    shop: Path, open_app: OpenApp
) -> None:
    # A new document would compile the SQL highlight query again (about 13 MB each time).
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        document = pane.editor.document
        await type_text(pilot, "select 1")
        pane.action_new_buffer()
        assert pane.editor.text == ""
        await pilot.press("ctrl+z")  # the other buffer's typing is not undone into this one
        assert pane.editor.text == ""
        pane.action_next_buffer()
        assert pane.editor.text == "select 1"
        await pilot.press("ctrl+z")
        assert pane.editor.text == "select 1"
        assert pane.editor.document is document


async def test_the_editor_styles_what_is_typed_with_its_themes_keyword_style(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        editor = pane.editor
        await type_text(pilot, "select 1")
        theme = TextAreaTheme.get_builtin_theme(editor.theme)
        assert theme is not None
        line = editor.get_line(0)
        keyword = [span for span in line.spans if (span.start, span.end) == (0, 6)]
        assert [span.style for span in keyword] == [theme.syntax_styles["keyword"]]
        # A later edit is lexed again: the keyword is gone, a string is styled.
        write(pane, "'select'")
        styled = [(span.start, span.end, span.style) for span in editor.get_line(0).spans]
        assert styled == [(0, 8, theme.syntax_styles["string"])]


async def test_the_palette_runs_the_whole_buffer(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        write(pane, "select count(*) from customers;\nselect name from customers order by id;")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"query run all")
        await wait_until(pilot, lambda: palette_highlights(app, "Query: run all"), "found")
        await pilot.press("enter")
        await finished(pilot, pane)
        assert grid_rows(pane) == [["Ann"], ["Bob"], ["Cy"]]


async def test_each_result_of_a_run_all_is_shown_in_turn_with_f3(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        script = (
            "select count(*) from customers;\nselect 'no rows' where 0;\n"
            "select name from customers order by id;"
        )
        await run(pilot, pane, script, key="f5")
        assert grid_rows(pane) == [["Ann"], ["Bob"], ["Cy"]]
        assert "result 3 of 3" in status(pane)
        await pilot.press("f3")  # round to the first
        await settle(pilot)
        assert grid_rows(pane) == [["3"]]
        assert "result 1 of 3" in status(pane) and "select count(*)" in status(pane)
        await pilot.press("shift+f3")
        await settle(pilot)
        assert grid_rows(pane) == [["Ann"], ["Bob"], ["Cy"]]
        await pilot.press("shift+f3")
        await settle(pilot)
        assert grid_rows(pane) == []
        assert "result 2 of 3" in status(pane)
        await pilot.press("f15")  # shift+f3 as xterm and tmux send it
        await settle(pilot)
        assert "result 1 of 3" in status(pane)
        # A run of one statement leaves one result: nothing to step through.
        await run(pilot, pane, "select 7")
        await pilot.press("f3")
        await settle(pilot)
        assert grid_rows(pane) == [["7"]]


async def test_an_earlier_result_keeps_its_first_rows_only(shop: Path, open_app: OpenApp) -> None:
    many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1500) SELECT x"
    many += " FROM c"
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, f"{many};\nselect 1;", key="f5")
        await pilot.press("f3")
        await settle(pilot)
        assert "the first 1,000 rows kept" in status(pane)
        assert grid_rows(pane)[0] == ["1"]
        pane.results.grid.focus()
        await pilot.press("end")
        await wait_until(pilot, lambda: grid_rows(pane)[-1:] == [["1000"]], "the last row kept")


async def test_tab_with_nothing_to_complete_indents(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        write(pane, "select\n")
        await pilot.press("tab")
        await pilot.press(*"name")
        await settle(pilot)
        assert pane.editor.text == "select\n    name"
        assert app.focused is pane.editor


async def test_the_status_line_escapes_control_characters(shop: Path, open_app: OpenApp) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, "select '\x1b]0;pwned\x07' as x")
        await finished(pilot, pane)
        status = str(pane.query_one("#query-status", Label).render())
        assert "\x1b" not in status and "\x07" not in status
        assert "\\x1b]0;pwned\\x07" in status


async def test_keys_typed_fast_all_reach_the_editor_before_the_run_key(
    shop: Path, open_app: OpenApp
) -> None:
    # As a paste without bracketed paste, or keys sent at once: every key arrives before
    # the first is handled. The run key, a priority binding, must not run ahead of them.
    from textual import events

    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        write(pane, "")
        sql = "select name, city from customers where id = 2"
        for char in sql:
            app.post_message(events.Key(char if char != " " else "space", char))
        app.post_message(events.Key("ctrl+j", None))
        await finished(pilot, pane)
        assert pane.editor.text == sql
        assert grid_rows(pane) == [["Bob", "Rome"]], message(pane)


async def test_the_run_key_after_an_error_runs_the_statement_not_the_errors_token(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        await run(pilot, pane, "select nme from customers where id = 1")
        assert "no such column: nme" in message(pane)
        assert pane.editor.selected_text == "nme"  # shown where the database saw it
        await pilot.press("ctrl+j")  # the same statement runs again, whole
        await finished(pilot, pane)
        assert "no such column: nme" in message(pane)
        assert "syntax error" not in message(pane)


async def test_the_rows_of_the_statements_before_a_failure_stay_at_hand(
    shop: Path, open_app: OpenApp
) -> None:
    async with open_app(shop) as app, app.run_test(size=SIZE) as pilot:
        pane = await open_query(pilot, app)
        script = (
            "select count(*) from orders;\n"
            "select name from customers order by id;\n"
            "select 1/0 from nothing_here;\nselect 'never';"
        )
        await run(pilot, pane, script, key="f5")
        assert "statement 3: select 1/0 from nothing_here failed" in message(pane)
        assert "f3 and shift+f3 show the rows of the statements that ran" in message(pane)
        await pilot.press("escape", "f3")  # from the editor: the last result's rows
        await settle(pilot)
        assert shown(pane) == "query-results"
        assert grid_rows(pane) == [["Ann"], ["Bob"], ["Cy"]]
        await pilot.press("f3")
        await settle(pilot)
        assert grid_rows(pane) == [["2500"]]
