"""The query console on a real SQLite file: paging, refusals, write mode, errors, cancel."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dbinspect.backends.sqlite_console import SqliteConsole
from dbinspect.browse.window import FetchPlan
from dbinspect.query.console import ConsoleSession, StatementError, open_console
from dbinspect.query.statements import statements_in
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

from .console_kit import (
    Rows,
    browse,
    check_cells,
    check_duplicate_names,
    check_empty,
    check_paging,
    check_stream,
    count,
    held,
    step,
)

ROWS = 3_000
BIG = 1_000_000


def build(path: Path, script: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.commit()
    conn.close()
    return path


def read(path: Path, sql: str, params: tuple[object, ...] = ()) -> Rows:
    """Rows read by a plain connection of its own."""
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return build(
        tmp_path / "console.db",
        f"""
        CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER);
        INSERT INTO t(id, name, n)
          WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {ROWS})
          SELECT x, printf('name %05d', x), x % 7 FROM c;
        CREATE INDEX t_n ON t(n);
        """,
    )


@pytest.fixture
async def session(database: Path) -> AsyncIterator[ConsoleSession]:
    opened = await open_console(parse_url(str(database)), read_only=False)
    try:
        yield opened
    finally:
        await opened.aclose()


async def test_a_result_pages_like_the_data_pane(session: ConsoleSession, database: Path) -> None:
    sql = "SELECT id, name, n * 2 AS twice FROM t ORDER BY n, id"
    browser, pager = await browse(session, sql)
    assert pager.columns == ("id", "name", "twice")
    assert pager.cursor.rewinds == "rerun"

    def direct(offset: int, limit: int) -> Rows:
        return read(database, f"{sql} LIMIT ? OFFSET ?", (limit, offset))

    await check_paging(browser, ROWS, direct)
    await check_stream(pager, ROWS, direct)


async def test_a_pragma_result_pages_by_stepping(session: ConsoleSession, database: Path) -> None:
    # A PRAGMA cannot be wrapped in `SELECT * FROM (...)`: pages are read by stepping.
    browser, pager = await browse(session, "PRAGMA table_info(t)")
    assert held(browser) == read(database, "PRAGMA table_info(t)")
    assert await count(browser) == 3
    assert await pager.cursor.rows(2, 5) == [read(database, "PRAGMA table_info(t)")[2]]


async def test_duplicate_names_and_an_empty_result(session: ConsoleSession) -> None:
    await check_duplicate_names(session, 'SELECT 1 AS a, 2 AS a, 3 AS "a:1"')
    await check_empty(session, "SELECT id, name FROM t WHERE id < 0", ("id", "name"))
    await check_empty(
        session, "PRAGMA index_list(nothing_here)", ("seq", "name", "unique", "origin", "partial")
    )


async def test_cell_detail_of_long_text_and_blob(tmp_path: Path) -> None:
    text = "é" * 5_000 + "end"
    blob = bytes(range(256)) * 40
    path = build(tmp_path / "cells.db", "CREATE TABLE c(body TEXT, raw BLOB)")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO c VALUES (?, ?)", (text, blob))
    conn.commit()
    conn.close()
    session = await open_console(parse_url(str(path)), read_only=True)
    try:
        browser, pager = await browse(session, "SELECT raw, body FROM c")
        await check_cells(browser, pager, text, blob, ("body", "raw"))
    finally:
        await session.aclose()


@pytest.fixture
def big(tmp_path: Path) -> Path:
    return build(
        tmp_path / "big.db",
        f"""
        CREATE TABLE events(id INTEGER PRIMARY KEY, kind TEXT, amount INTEGER);
        INSERT INTO events
          WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {BIG})
          SELECT x, 'k' || (x % 13), x * 3 FROM c;
        """,
    )


async def test_end_of_a_million_rows_in_a_bounded_window(big: Path) -> None:
    session = await open_console(parse_url(str(big)), read_only=True)
    try:
        # End before the count: the positions come from the counted end.
        browser, _ = await browse(session, "SELECT id FROM events")
        await step(browser, FetchPlan("last", 100), (0, 10))
        assert held(browser)[-1] == (BIG,)
        assert browser.window.end == BIG and browser.total == BIG

        browser, _ = await browse(session, "SELECT id, kind, amount FROM events")
        window = browser.window
        for _ in range(5):
            await step(browser, FetchPlan("after", window.page_rows), (window.end - 5, window.end))
        assert await count(browser) == BIG
        await step(browser, FetchPlan("last", window.page_rows), (BIG - 20, BIG))
        assert held(browser)[-1] == (BIG, f"k{BIG % 13}", BIG * 3)
        assert window.end == BIG and window.at_end
        assert browser.window.rows[-1].key == (BIG - 1,)
        await step(
            browser, FetchPlan("before", window.page_rows), (window.start, window.start + 20)
        )
        first = window.start
        assert held(browser)[0] == (first + 1, f"k{(first + 1) % 13}", (first + 1) * 3)
        assert window.peak <= window.max_rows
    finally:
        await session.aclose()


REFUSED_WRITES = [
    "INSERT INTO t(name) VALUES ('x')",
    "UPDATE t SET name = 'x'",
    "DELETE FROM t",
    "CREATE TABLE u(a)",
    "CREATE VIEW v AS SELECT 1",
    "DROP TABLE t",
    "DROP INDEX t_n",
    "ALTER TABLE t ADD COLUMN extra",
    "PRAGMA user_version = 1",
    "PRAGMA query_only = 0",
    "PRAGMA journal_mode = delete",
    "BEGIN IMMEDIATE",
    "ANALYZE",
]
ALWAYS_REFUSED = [
    "ATTACH 'other.db' AS other",
    "SELECT load_extension('/tmp/evil')",
    "PRAGMA writable_schema = 1",
    "PRAGMA writable_schema = ON",
]


async def test_read_only_refuses_writes_and_the_file_is_unchanged(
    session: ConsoleSession, database: Path
) -> None:
    before = digest(database)
    for sql in REFUSED_WRITES:
        with pytest.raises(StatementError, match=r"^read-only: .*switch write mode on"):
            await session.run(sql)
    for sql in ALWAYS_REFUSED:
        with pytest.raises(StatementError, match=r"^refused: "):
            await session.run(sql)
    outcome = await session.run("SELECT count(*), sum(n) FROM t")
    assert outcome.cursor is not None
    assert await outcome.cursor.rows(0, 1) == read(database, "SELECT count(*), sum(n) FROM t")
    assert digest(database) == before
    assert read(database, "PRAGMA user_version") == [(0,)]
    assert read(database, "SELECT count(*) FROM sqlite_schema") == [(2,)]
    assert not (database.parent / "other.db").exists()


async def test_write_mode_never_attaches_or_loads(session: ConsoleSession, database: Path) -> None:
    before = digest(database)
    for sql in ALWAYS_REFUSED:
        with pytest.raises(StatementError, match=r"^refused: "):
            await session.run(sql, write=True)
    assert digest(database) == before
    assert not (database.parent / "other.db").exists()


async def test_several_statements_at_once_are_one_clear_error(session: ConsoleSession) -> None:
    for write in (False, True):
        with pytest.raises(StatementError, match=r"^run one statement at a time$"):
            await session.run("SELECT 1; DELETE FROM t", write=write)
    with pytest.raises(StatementError, match=r"^run one statement at a time$"):
        await session.explain("SELECT 1; SELECT 2")


async def test_write_mode_commit_and_rollback(session: ConsoleSession, database: Path) -> None:
    assert session.can_write
    outcome = await session.run("UPDATE t SET name = 'changed' WHERE n = 0", write=True)
    changed = read(database, "SELECT count(*) FROM t WHERE n = 0")[0][0]
    assert outcome.changed == changed and outcome.pending and outcome.cursor is None
    assert read(database, "SELECT count(*) FROM t WHERE name = 'changed'") == [(0,)]
    await session.rollback()
    assert read(database, "SELECT count(*) FROM t WHERE name = 'changed'") == [(0,)]

    outcome = await session.run("DELETE FROM t WHERE id > 2990", write=True)
    assert outcome.changed == 10 and outcome.pending
    await session.commit()
    assert read(database, "SELECT count(*) FROM t") == [(ROWS - 10,)]
    # The read connection sees the committed rows.
    reread = await session.run("SELECT count(*) FROM t")
    assert reread.cursor is not None and await reread.cursor.rows(0, 1) == [(ROWS - 10,)]


async def test_a_result_read_while_a_write_waits_does_not_block_the_commit(
    session: ConsoleSession, database: Path
) -> None:
    _, pager = await browse(session, "SELECT id FROM t ORDER BY id")
    outcome = await session.run("DELETE FROM t WHERE id <= 10", write=True)
    assert outcome.pending
    # The earlier result's grid scrolls: a read statement is open again on the file.
    assert await pager.cursor.rows(500, 100) == [(i,) for i in range(501, 601)]
    started = time.monotonic()
    await asyncio.wait_for(session.commit(), 8)
    assert time.monotonic() - started < 2
    assert read(database, "SELECT count(*) FROM t") == [(ROWS - 10,)]
    assert await pager.cursor.rows(0, 1) == [(11,)]  # its next page runs it again


async def test_returning_rows_are_shown(session: ConsoleSession, database: Path) -> None:
    outcome = await session.run(
        "INSERT INTO t(id, name, n) VALUES (5001, 'a', 1), (5002, 'b', 2) RETURNING id, name",
        write=True,
    )
    assert outcome.changed == 2 and outcome.pending
    assert outcome.cursor is not None and outcome.cursor.columns == ("id", "name")
    assert await outcome.cursor.rows(0, 10) == [(5001, "a"), (5002, "b")]
    assert await outcome.cursor.count() == 2
    await session.commit()
    assert read(database, "SELECT name FROM t WHERE id > 5000 ORDER BY id") == [("a",), ("b",)]


async def test_an_error_inside_write_mode_rolls_back(
    session: ConsoleSession, database: Path
) -> None:
    first = await session.run("INSERT INTO t(id, name) VALUES (9001, 'kept?')", write=True)
    assert first.pending
    with pytest.raises(StatementError, match="UNIQUE constraint failed"):
        await session.run("INSERT INTO t(id, name) VALUES (1, 'duplicate')", write=True)
    await session.commit()  # nothing is left to commit
    assert read(database, "SELECT count(*) FROM t WHERE id = 9001") == [(0,)]
    assert read(database, "SELECT name FROM t WHERE id = 1") == [("name 00001",)]


async def test_destroying_statements_ask_first_and_then_run(
    session: ConsoleSession, database: Path
) -> None:
    (drop,) = statements_in("DROP INDEX t_n;", "sqlite")
    (alter,) = statements_in("ALTER TABLE t RENAME TO t2", "sqlite")
    (delete,) = statements_in("DELETE FROM t", "sqlite")
    assert drop.asks_first and alter.asks_first and not delete.asks_first
    outcome = await session.run(drop.sql, write=True)
    assert outcome.pending
    await session.rollback()
    assert read(database, "SELECT name FROM sqlite_schema WHERE type = 'index'") == [("t_n",)]


async def test_a_write_while_another_process_writes_is_an_error_not_a_hang(
    session: ConsoleSession, database: Path
) -> None:
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO t(name) VALUES ('theirs')")
        started = time.monotonic()
        with pytest.raises(StatementError) as raised:
            await asyncio.wait_for(session.run("DELETE FROM t", write=True), 8)
        assert time.monotonic() - started < 7
        assert "locked" in str(raised.value) and "\n" not in str(raised.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    outcome = await session.run("DELETE FROM t WHERE id = 1", write=True)
    assert outcome.changed == 1
    await session.rollback()


async def test_a_read_only_session_refuses_write_mode(database: Path) -> None:
    before = digest(database)
    session = await open_console(parse_url(str(database)), read_only=True)
    try:
        assert not session.can_write
        with pytest.raises(StatementError, match="opened read-only"):
            await session.run("DELETE FROM t", write=True)
        outcome = await session.run("SELECT count(*) FROM t", write=True)  # a read still runs
        assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(ROWS,)]
    finally:
        await session.aclose()
    assert digest(database) == before


@pytest.mark.parametrize(
    ("sql", "token"),
    [
        ("SELEC id FROM t", "SELEC"),
        ("SELECT id FROM t WHERE nmae = 1", "nmae"),
        ("SELECT id FROM tt", "tt"),
        ("SELECT id, FROM t", "FROM"),
        ("SELECT id FROM t WHERE id = 1 ORDER name", "name"),
        ("SELECT nosuchfn(id) FROM t", "nosuchfn"),
    ],
)
async def test_an_error_points_at_the_token_sqlite_names(
    session: ConsoleSession, sql: str, token: str
) -> None:
    with pytest.raises(StatementError) as raised:
        await session.run(sql)
    assert raised.value.position == sql.index(token), str(raised.value)
    assert raised.value.sql == sql


@pytest.mark.parametrize(
    ("sql", "place"),
    [
        ("SELECT id FROM t WHERE id = 1 AND AND n = 2", "AND n"),
        (
            "SELECT id FROM t WHERE id = 1 GROUP id",
            "id",
        ),
        (
            "SELECT 'AND', n FROM t WHERE n = 1 AND AND",
            "AND",
        ),
        ("SELECT (1 + (2 * ) ) FROM t", ") )"),
    ],
)
async def test_a_repeated_token_points_at_the_place_of_the_error(
    session: ConsoleSession, sql: str, place: str
) -> None:
    with pytest.raises(StatementError, match="syntax error") as raised:
        await session.run(sql)
    assert raised.value.position == sql.rindex(place), str(raised.value)


async def test_finding_the_place_runs_nothing(session: ConsoleSession, tmp_path: Path) -> None:
    # Each prefix is prepared on a connection that denies every action.
    target = tmp_path / "attached.db"
    sql = f"ATTACH '{target}' AS x x"
    with pytest.raises(StatementError) as raised:
        await session.run(sql)
    assert raised.value.position == sql.rindex("x")
    assert not await asyncio.to_thread(target.exists)


async def test_an_error_without_a_token_has_no_position(session: ConsoleSession) -> None:
    with pytest.raises(StatementError) as raised:
        await session.run("SELECT id FROM t WHERE")
    assert raised.value.position is None and "incomplete input" in str(raised.value)


async def test_interrupt_stops_a_long_statement(session: ConsoleSession) -> None:
    sql = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)"
        " SELECT count(*) FROM c"
    )
    running = asyncio.create_task(session.run(sql))
    await asyncio.sleep(0.3)
    assert not running.done()
    asked = time.monotonic()
    await session.interrupt()
    with pytest.raises(StatementError, match=r"^cancelled$"):
        await asyncio.wait_for(running, 5)
    assert time.monotonic() - asked < 2
    outcome = await session.run("SELECT count(*) FROM t")
    assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(ROWS,)]


async def test_hostile_values_come_through(tmp_path: Path) -> None:
    path = build(tmp_path / "hostile.db", "CREATE TABLE h(k INTEGER PRIMARY KEY, v)")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO h VALUES (1, 'a' || char(0) || 'b')")
    conn.execute("INSERT INTO h VALUES (2, char(27) || '[31mred' || char(7, 8, 13))")
    conn.execute("INSERT INTO h VALUES (3, CAST(x'ff41c3' AS TEXT))")
    conn.execute("INSERT INTO h VALUES (4, 9223372036854775807)")
    conn.execute("INSERT INTO h VALUES (5, -9223372036854775808)")
    conn.execute("INSERT INTO h VALUES (6, 1e308 * 10)")
    conn.execute("INSERT INTO h VALUES (7, -1e308 * 10)")
    conn.execute("INSERT INTO h VALUES (8, 18446744073709551616)")  # stored as a REAL
    conn.execute("INSERT INTO h VALUES (9, x'00ff')")
    conn.commit()
    conn.close()
    session = await open_console(parse_url(str(path)), read_only=True)
    try:
        browser, pager = await browse(session, "SELECT v FROM h ORDER BY k")
        values = [row[0] for row in held(browser)]
        assert values[:5] == [
            "a\x00b",
            "\x1b[31mred\x07\x08\r",
            "\\xffA\\xc3",
            9223372036854775807,
            -9223372036854775808,
        ]
        assert values[5] == math.inf and values[6] == -math.inf
        assert values[7] == 1.8446744073709552e19 and values[8] == b"\x00\xff"
        cell = await browser.cell((0,), "v", 100)
        assert cell is not None and (cell.value, cell.size, cell.type) == ("a\x00b", 3, "text")
        cell = await browser.cell((5,), "v", 100)
        assert cell is not None and cell.type == "real" and cell.value == math.inf
        outcome = await session.run("SELECT 0.0 / 0")
        assert outcome.cursor is not None
        assert (await outcome.cursor.rows(0, 1))[0][0] is None  # SQLite makes no NaN: NULL
    finally:
        await session.aclose()
    assert isinstance(pager.columns, tuple)


async def test_explain_is_a_tree_of_the_plan(session: ConsoleSession) -> None:
    plan = await session.explain("SELECT * FROM t WHERE id = 5")
    assert plan.label == "QUERY PLAN"
    assert [c.label for c in plan.children] == ["SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"]

    plan = await session.explain("SELECT name FROM t WHERE id IN (SELECT id FROM t WHERE n = 3)")
    labels = [c.label for c in plan.children]
    assert any(label.startswith("SEARCH t") for label in labels)
    subquery = next(c for c in plan.children if "SUBQUERY" in c.label)
    assert "SEARCH t USING COVERING INDEX t_n (n=?)" in [c.label for c in subquery.children]

    with pytest.raises(StatementError, match="no such table: nowhere") as raised:
        await session.explain("SELECT * FROM nowhere")
    assert raised.value.position == len("SELECT * FROM ")


async def test_the_console_is_the_sqlite_one(session: ConsoleSession) -> None:
    assert isinstance(session, SqliteConsole) and session.dialect == "sqlite"


async def test_an_export_stream_reads_text_that_is_not_utf8_leniently(tmp_path: Path) -> None:
    # The stream decodes strictly first (fast), then reads on leniently from the row
    # where undecodable text stops it: every row comes once, in order.
    db = build(
        tmp_path / "bytes.db",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
        "INSERT INTO t SELECT i, 'row ' || i FROM n;"
        "UPDATE t SET v = CAST(x'6361fe' AS TEXT) WHERE id = 1800;",
    )
    console = await open_console(parse_url(str(db)), read_only=True)
    try:
        outcome = await console.run("select id, v from t order by id")
        assert outcome.cursor is not None
        rows = [row async for batch in outcome.cursor.stream(500) for row in batch]
    finally:
        await console.aclose()
    assert [row[0] for row in rows] == list(range(1, 2501))
    assert rows[1799] == (1800, "ca\\xfe")
    assert rows[0] == (1, "row 1") and rows[-1] == (2500, "row 2500")
