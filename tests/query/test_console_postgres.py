"""The query console on the real PostgreSQL server, each test in a database of its own."""

from __future__ import annotations

import asyncio
import io
import math
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from pgkit import fresh_database, query, run_sql

from dbinspect.backends.postgres_console import PostgresConsole
from dbinspect.browse.window import FetchPlan
from dbinspect.query.console import ConsoleSession, StatementError, open_console
from dbinspect.query.statements import statements_in
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
READ_ONLY = r"^read-only: .*; switch write mode on to run it$"


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database("dbi_console") as created:
        run_sql(
            created,
            f"""
            CREATE TABLE t(id integer PRIMARY KEY, name text NOT NULL, n integer);
            INSERT INTO t SELECT x, format('name %s', lpad(x::text, 5, '0')), x % 7
              FROM generate_series(1, {ROWS}) AS x;
            CREATE INDEX t_n ON t(n);
            CREATE SEQUENCE s;
            ANALYZE t;
            """,
        )
        yield created


@pytest.fixture
async def session(url: str) -> AsyncIterator[ConsoleSession]:
    opened = await open_console(parse_url(url), read_only=False)
    try:
        yield opened
    finally:
        await opened.aclose()


def fingerprint(url: str) -> Rows:
    """What the database holds, read on a plain connection."""
    return query(
        url,
        "SELECT (SELECT count(*) FROM t),"
        " (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM t),"
        " (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class"
        "   WHERE relnamespace = 'public'::regnamespace),"
        " (SELECT last_value FROM s), (SELECT is_called FROM s)",
    )


async def test_a_result_pages_like_the_data_pane(session: ConsoleSession, url: str) -> None:
    sql = "SELECT id, name, n * 2 AS twice FROM t ORDER BY n, id"
    browser, pager = await browse(session, sql)
    assert pager.columns == ("id", "name", "twice")
    assert pager.cursor.rewinds == "scroll"

    def direct(offset: int, limit: int) -> Rows:
        return query(url, f"{sql} LIMIT %s OFFSET %s", (limit, offset))

    await check_paging(browser, ROWS, direct)
    await check_stream(pager, ROWS, direct)
    # The export's own cursor leaves the browsing one where it was.
    assert held(browser) == direct(browser.window.start, len(browser.window))


async def test_kept_rows_of_a_statement_that_is_not_a_query(session: ConsoleSession) -> None:
    browser, _ = await browse(session, "SHOW default_transaction_read_only")
    assert held(browser) == [("on",)]
    browser, _ = await browse(session, "EXPLAIN SELECT * FROM t")
    assert str(held(browser)[0][0]).startswith("Seq Scan on t")
    assert await count(browser) == 1


async def test_duplicate_names_and_an_empty_result(session: ConsoleSession) -> None:
    await check_duplicate_names(session, 'SELECT 1 AS a, 2 AS a, 3 AS "a:1"')
    await check_empty(session, "SELECT id, name FROM t WHERE false", ("id", "name"))


async def test_cell_detail_of_long_text_and_bytea(session: ConsoleSession, url: str) -> None:
    text = "é" * 5_000 + "end"
    blob = bytes(range(256)) * 40
    run_sql(url, "CREATE TABLE c(body text, raw bytea)")
    query(url, "INSERT INTO c VALUES (%s, %s) RETURNING 1", (text, blob))
    browser, pager = await browse(session, "SELECT raw, body FROM c")
    await check_cells(browser, pager, text, blob, ("body", "raw"))


@pytest.fixture
def big(url: str) -> str:
    run_sql(
        url,
        f"""
        CREATE TABLE events(id bigint PRIMARY KEY, kind text, amount bigint);
        INSERT INTO events SELECT x, 'k' || (x % 13), x * 3 FROM generate_series(1, {BIG}) AS x;
        """,
    )
    return url


async def test_end_of_a_million_rows_in_a_bounded_window(big: str) -> None:
    session = await open_console(parse_url(big), read_only=True)
    try:
        # End before the count: the positions come from the counted end.
        browser, _ = await browse(session, "SELECT id FROM events ORDER BY id")
        await step(browser, FetchPlan("last", 100), (0, 10))
        assert held(browser)[-1] == (BIG,)
        assert browser.window.end == BIG and browser.total == BIG
        await step(browser, FetchPlan("before", 100), (BIG - 100, BIG - 90))
        assert held(browser)[0] == (BIG - 199,) and browser.window.start == BIG - 200

        browser, _ = await browse(session, "SELECT id, kind, amount FROM events ORDER BY id")
        window = browser.window
        for _ in range(5):
            await step(browser, FetchPlan("after", window.page_rows), (window.end - 5, window.end))
        assert await count(browser) == BIG
        await step(browser, FetchPlan("last", window.page_rows), (BIG - 20, BIG))
        assert held(browser)[-1] == (BIG, f"k{BIG % 13}", BIG * 3)
        assert window.end == BIG and window.at_end
        await step(browser, FetchPlan("before", window.page_rows), (window.start, window.start + 9))
        first = window.start
        assert held(browser)[0] == (first + 1, f"k{(first + 1) % 13}", (first + 1) * 3)
        assert window.peak <= window.max_rows
    finally:
        await session.aclose()


REFUSED_WRITES = [
    "INSERT INTO t VALUES (9001, 'x', 1)",
    "UPDATE t SET name = 'x'",
    "DELETE FROM t",
    "CREATE TABLE u(a int)",
    "DROP TABLE t",
    "ALTER TABLE t ADD COLUMN extra int",
    "TRUNCATE t",
    "SELECT nextval('s')",
    "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone",
    "DO $$BEGIN INSERT INTO t VALUES (9002, 'y', 1); END$$",
    "COPY t FROM '/etc/hostname'",
]


async def test_read_only_refuses_writes_and_nothing_changes(
    session: ConsoleSession, url: str
) -> None:
    before = fingerprint(url)
    for sql in REFUSED_WRITES:
        with pytest.raises(StatementError, match=READ_ONLY):
            await session.run(sql)
    assert fingerprint(url) == before


async def test_read_only_refuses_copy_to_the_server(url: str) -> None:
    # A READ ONLY transaction lets COPY write a server file or run a program: refused.
    marker = f"/tmp/dbinspect_copy_{uuid.uuid4().hex}"
    session = await open_console(parse_url(url), read_only=True)
    try:
        for sql in (
            f"COPY (SELECT 1) TO PROGRAM 'echo written > {marker}'",
            f"COPY t TO '{marker}'",
            f"copy (SELECT 1) TO '{marker}' WITH (FORMAT csv)",
        ):
            for write in (False, True):
                with pytest.raises(StatementError, match=r"^read-only: "):
                    await session.run(sql, write=write)
    finally:
        await session.aclose()
    assert not await asyncio.to_thread(Path(marker).exists)


async def test_read_only_refuses_functions_that_act_outside_the_database(url: str) -> None:
    # A READ ONLY transaction still lets lo_export write a server file, or a session stop
    # another one: read-only mode refuses statements that call them, however written.
    marker = f"/tmp/dbinspect_lo_{uuid.uuid4().hex}"
    victim = await psycopg.AsyncConnection.connect(url, autocommit=True)
    pid = victim.info.backend_pid
    session = await open_console(parse_url(url), read_only=False)
    try:
        for sql in (
            f"SELECT lo_export(lo_from_bytea(0, 'x'), '{marker}')",
            f"SELECT \"lo_export\"(1, '{marker}')",
            f"select PG_CATALOG.pg_terminate_backend ({pid})",
            f"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = {pid}",
            "SELECT pg_reload_conf()",
            "DO $$BEGIN PERFORM pg_terminate_backend(0); END$$",
        ):
            with pytest.raises(StatementError, match=r"^read-only: "):
                await session.run(sql)
        # Named inside a string or a comment, nothing is called: it runs.
        outcome = await session.run("SELECT 'lo_export(1)' AS text -- pg_reload_conf()\n")
        assert outcome.cursor is not None
        assert await outcome.cursor.rows(0, 5) == [("lo_export(1)",)]
        # Write mode runs them (here a cancel of no session, which returns false).
        done = await session.run("SELECT pg_cancel_backend(0)", write=True)
        assert done.cursor is not None and await done.cursor.rows(0, 5) == [("false",)]
        assert (await (await victim.execute("SELECT 1")).fetchall()) == [(1,)]
    finally:
        await session.aclose()
        await victim.close()
    assert not await asyncio.to_thread(Path(marker).exists)


# What a READ ONLY transaction still lets run, written as an attacker would write it.
STILL_RUN_IN_READ_ONLY = [
    "SELECT lo_from_bytea(0, 'x')",
    "SELECT lo_put((SELECT min(oid) FROM pg_largeobject_metadata), 0, 'abc')",
    "SELECT lo_unlink((SELECT min(oid) FROM pg_largeobject_metadata))",
    "SELECT pg_import_system_collations('public')",
    "SELECT pg_stat_reset()",
    "SELECT pg_replication_origin_create('dbinspect_test_origin')",
    "SELECT query_to_xml('SELECT pg_terminate_backend(0)', true, true, '')",
    r"SELECT E'\'' AS a, pg_cancel_backend(0) AS b, '''' AS c",  # E'' holds a quote
    r"""SELECT U&"lo\005Ffrom\005Fbytea"(0, 'x')""",  # U& spells lo_from_bytea
    "PREPARE p AS SELECT lo_unlink(1)",
    "WITH made AS (SELECT lo_from_bytea(0, 'x')) SELECT * FROM made",
    "REINDEX TABLE t",
    "ANALYZE t",
    "VACUUM t",
    "CHECKPOINT",
    "LOCK TABLE t",
    "NOTIFY channel, 'x'",
    "DO $$BEGIN EXECUTE 'SELECT lo_from_bytea(0, ''x'')'; END$$",
    "DO $$BEGIN PERFORM lo_from_bytea(0, 'x'); END$$",
    # A quote in a dollar-quoted string or a quoted name is no string's start.
    "DO $$BEGIN PERFORM $x$'$x$; PERFORM lo_from_bytea(0, 'y'); PERFORM $x$'$x$; END$$",
    """DO $$DECLARE "a'" int; BEGIN PERFORM lo_from_bytea(0, 'z'); "a'" := 1; END$$""",
    """DO $$DECLARE "a'" oid; BEGIN "a'" := lo_from_bytea(0, 'z'); END$$""",
    "DO LANGUAGE sql $$SELECT 1$$",
    "SELECT ts_stat('SELECT lo_from_bytea(0, ''x'')::text::tsvector')",
    "SELECT ts_rewrite('a'::tsquery, "
    "'SELECT lo_from_bytea(0, ''w'')::text::tsquery, ''b''::tsquery')",
    "SELECT pg_advisory_lock(4242)",
]


@pytest.mark.parametrize("sql", STILL_RUN_IN_READ_ONLY)
async def test_read_only_refuses_what_a_read_only_transaction_lets_run(
    session: ConsoleSession, url: str, sql: str
) -> None:
    files = "SELECT pg_relation_filenode('t_pkey'), pg_relation_filenode('t')"
    before = query(url, files)
    with pytest.raises(StatementError, match=r"^read-only: .*; switch write mode on to run it"):
        await session.run(sql)
    assert query(url, "SELECT count(*) FROM pg_largeobject_metadata") == [(0,)]
    origin = "SELECT count(*) FROM pg_replication_origin WHERE roname = 'dbinspect_test_origin'"
    assert query(url, origin) == [(0,)]  # the server's, not the database's: by name
    public = "SELECT count(*) FROM pg_collation WHERE collnamespace = 'public'::regnamespace"
    assert query(url, public) == [(0,)]
    assert query(url, files) == before


async def test_a_locking_select_runs_in_write_mode_and_is_refused_outside_it(
    session: ConsoleSession, url: str
) -> None:
    with pytest.raises(StatementError, match=r"^read-only: "):
        await session.run("SELECT * FROM t WHERE id = 1 FOR UPDATE")
    locked = await session.run("SELECT id FROM t WHERE id = 1 FOR UPDATE", write=True)
    assert locked.cursor is not None and await locked.cursor.rows(0, 5) == [(1,)]
    await session.rollback()
    await session.run("SELECT 1 AS x INTO made", write=True)
    await session.commit()
    assert query(url, "SELECT x FROM made") == [(1,)]


async def test_session_settings_do_not_lift_read_only(session: ConsoleSession, url: str) -> None:
    before = fingerprint(url)
    # A SET lasts (as in psql), yet each statement still runs in a READ ONLY transaction
    # of its own, begun as such whatever the session's default says.
    await session.run("SET default_transaction_read_only = off")
    shown = await session.run("SHOW default_transaction_read_only")
    assert shown.cursor is not None and await shown.cursor.rows(0, 1) == [("off",)]
    for setting in (
        "SELECT set_config('default_transaction_read_only', 'off', false)",
        "RESET ALL",
        "SET session_replication_role = replica",
        "SET transaction_read_only = off",  # allowed first in a transaction: it ends there
        None,
    ):
        if setting is not None:
            await session.run(setting)
        for write in ("INSERT INTO t VALUES (9001, 'x', 1)", "SELECT nextval('s')"):
            with pytest.raises(StatementError, match=READ_ONLY):
                await session.run(write)
    for flip in (
        "DO $$BEGIN SET transaction_read_only = off; INSERT INTO t VALUES (9001, 'x'); END$$",
        "SELECT set_config('transaction_read_only', 'off', true), nextval('s')",
    ):
        with pytest.raises(StatementError, match="must be set before any query"):
            await session.run(flip)
    assert fingerprint(url) == before


async def test_a_commit_among_several_statements_cannot_escape(
    session: ConsoleSession, url: str
) -> None:
    before = fingerprint(url)
    for sql in (
        "COMMIT; INSERT INTO t VALUES (9001, 'x', 1)",
        "COMMIT; BEGIN READ WRITE; INSERT INTO t VALUES (9001, 'x', 1); COMMIT",
        "COMMIT; SET default_transaction_read_only = off; COMMIT; INSERT INTO t VALUES (1, 'x')",
        "SELECT 1; COMMIT; DELETE FROM t",
        "ROLLBACK; START TRANSACTION READ WRITE; DELETE FROM t; COMMIT",
    ):
        for write in (False, True):
            with pytest.raises(StatementError, match=r"^run one statement at a time$"):
                await session.run(sql, write=write)
        with pytest.raises(StatementError, match=r"^run one statement at a time$"):
            await session.explain(sql)
    assert fingerprint(url) == before


async def test_the_console_owns_the_transaction(session: ConsoleSession) -> None:
    for sql in (
        "BEGIN", "COMMIT", "END", "ROLLBACK", "START TRANSACTION READ WRITE", "SAVEPOINT a",
        "SET TRANSACTION READ WRITE", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "PREPARE TRANSACTION 'x'",
    ):  # fmt: skip
        with pytest.raises(StatementError, match="own transaction"):
            await session.run(sql, write=True)
        outcome = await session.run("SELECT count(*) FROM t")
        assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(ROWS,)]


async def test_write_mode_commit_and_rollback(session: ConsoleSession, url: str) -> None:
    assert session.can_write
    outcome = await session.run("UPDATE t SET name = 'changed' WHERE n = 0", write=True)
    changed = query(url, "SELECT count(*) FROM t WHERE n = 0")[0][0]
    assert outcome.changed == changed and outcome.pending and outcome.cursor is None
    assert query(url, "SELECT count(*) FROM t WHERE name = 'changed'") == [(0,)]
    await session.rollback()
    assert query(url, "SELECT count(*) FROM t WHERE name = 'changed'") == [(0,)]

    outcome = await session.run("DELETE FROM t WHERE id > 2990", write=True)
    assert outcome.changed == 10 and outcome.pending
    await session.commit()
    assert query(url, "SELECT count(*) FROM t") == [(ROWS - 10,)]
    reread = await session.run("SELECT count(*) FROM t")
    assert reread.cursor is not None and await reread.cursor.rows(0, 1) == [(ROWS - 10,)]
    # After the commit, outside the console's transactions, nothing writes.
    with pytest.raises(StatementError, match=READ_ONLY):
        await session.run("DELETE FROM t")


async def test_returning_rows_are_shown(session: ConsoleSession, url: str) -> None:
    outcome = await session.run(
        "INSERT INTO t VALUES (5001, 'a', 1), (5002, 'b', 2) RETURNING id, name", write=True
    )
    assert outcome.changed == 2 and outcome.pending
    assert outcome.cursor is not None and outcome.cursor.columns == ("id", "name")
    assert await outcome.cursor.rows(0, 10) == [(5001, "a"), (5002, "b")]
    await session.commit()
    assert query(url, "SELECT name FROM t WHERE id > 5000 ORDER BY id") == [("a",), ("b",)]


async def test_an_error_inside_write_mode_rolls_back(session: ConsoleSession, url: str) -> None:
    with pytest.raises(StatementError, match="duplicate key") as raised:
        await session.run("INSERT INTO t VALUES (9001, 'new', 1), (1, 'duplicate', 1)", write=True)
    assert "\n" not in str(raised.value)
    await session.commit()
    assert query(url, "SELECT count(*) FROM t WHERE id = 9001") == [(0,)]
    outcome = await session.run("SELECT name FROM t WHERE id = 1")
    assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [("name 00001",)]


async def test_destroying_statements_ask_first_and_then_run(
    session: ConsoleSession, url: str
) -> None:
    for text in ("DROP TABLE t", "TRUNCATE t", "ALTER TABLE t DROP COLUMN n"):
        (statement,) = statements_in(text, "postgres")
        assert statement.asks_first
        outcome = await session.run(statement.sql, write=True)
        assert outcome.pending
        await session.rollback()
    assert query(url, "SELECT count(*), sum(n) FROM t") == [
        (ROWS, sum(x % 7 for x in range(1, ROWS + 1)))
    ]


async def test_a_read_only_session_refuses_write_mode(url: str) -> None:
    before = fingerprint(url)
    session = await open_console(parse_url(url), read_only=True)
    try:
        assert not session.can_write
        with pytest.raises(StatementError, match="opened read-only"):
            await session.run("DELETE FROM t", write=True)
        outcome = await session.run("SELECT count(*) FROM t", write=True)
        assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(ROWS,)]
    finally:
        await session.aclose()
    assert fingerprint(url) == before


async def test_an_error_points_where_postgres_says(session: ConsoleSession) -> None:
    for sql, token in (
        ("SELEC id FROM t", "SELEC"),
        ("SELECT nme FROM t", "nme"),  # a query: declared as a cursor, mapped back
        ("SELECT id FROM t WHERE nme = 1", "nme"),
        ("SELECT 'é€', nme FROM t", "nme"),  # characters, not bytes
        ("SELECT id\nFROM t\nWHERE nme = 1", "nme"),
        ("SELECT id FROM nowhere", "nowhere"),
        ("SHOW nothing_like_this; ", None),
        ("UPDATE t SET nme = 1", "nme"),
    ):
        with pytest.raises(StatementError) as raised:
            await session.run(sql, write=True)
        expected = None if token is None else sql.index(token)
        assert raised.value.position == expected, f"{sql}: {raised.value}"
        assert "\n" not in str(raised.value)
        outcome = await session.run("SELECT 1")  # the session goes on
        assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(1,)]


async def test_an_explain_error_points_into_the_statement(session: ConsoleSession) -> None:
    sql = "SELECT id FROM t WHERE nme = 1"
    with pytest.raises(StatementError, match="nme") as raised:
        await session.explain(sql)
    assert raised.value.position == sql.index("nme")


async def test_interrupt_stops_a_long_statement(session: ConsoleSession) -> None:
    for sql in ("SELECT pg_sleep(30)", "DO $$BEGIN PERFORM pg_sleep(30); END$$"):
        running = asyncio.create_task(session.run(sql))
        await asyncio.sleep(0.5)
        assert not running.done()
        asked = time.monotonic()
        await session.interrupt()
        with pytest.raises(StatementError, match=r"^cancelled$"):
            await asyncio.wait_for(running, 5)
        assert time.monotonic() - asked < 2
        outcome = await session.run("SELECT count(*) FROM t")
        assert outcome.cursor is not None and await outcome.cursor.rows(0, 1) == [(ROWS,)]


async def test_values_come_as_postgres_prints_them(session: ConsoleSession) -> None:
    sql = """SELECT
        E'\\x1b[31mred\\x07' AS control,
        9223372036854775807::int8 AS big,
        1e100::numeric AS huge,
        'NaN'::numeric AS numeric_nan,
        'NaN'::float8 AS nan,
        '-Infinity'::float8 AS minus_inf,
        '{"b": [1, 2], "a": null}'::jsonb AS doc,
        '{ "kept" : 1 }'::json AS raw_json,
        ARRAY[1, 2, NULL] AS numbers,
        ARRAY['a b', 'c"d'] AS words,
        '2024-01-02 03:04:05.5'::timestamp AS at,
        '2024-02-29'::date AS day,
        '1 day 2 hours'::interval AS span,
        true AS yes,
        '\\x00ff'::bytea AS raw,
        'a''b'::text AS quoted"""
    browser, pager = await browse(session, sql)
    (row,) = held(browser)
    values = dict(zip(pager.columns, row, strict=True))
    assert values["control"] == "\x1b[31mred\x07"
    assert values["big"] == 9223372036854775807
    assert values["huge"] == "1" + "0" * 100
    assert values["numeric_nan"] == "NaN"
    assert isinstance(values["nan"], float) and math.isnan(values["nan"])
    assert values["minus_inf"] == -math.inf
    assert values["doc"] == '{"a": null, "b": [1, 2]}'
    assert values["raw_json"] == '{ "kept" : 1 }'
    assert values["numbers"] == "{1,2,NULL}"
    assert values["words"] == '{"a b","c\\"d"}'
    assert values["at"] == "2024-01-02 03:04:05.5"
    assert values["day"] == "2024-02-29"
    assert values["span"] == "1 day 02:00:00"
    assert values["yes"] == "true"  # as `::text` writes it, and export with it
    assert values["raw"] == b"\x00\xff"
    assert values["quoted"] == "a'b"


async def test_a_nul_in_text_is_refused_by_postgres_itself(session: ConsoleSession) -> None:
    with pytest.raises(StatementError) as raised:
        await session.run("SELECT E'a\\x00b'")
    assert "\n" not in str(raised.value) and "0x00" in str(raised.value)


async def test_explain_is_a_tree_of_the_plan(session: ConsoleSession) -> None:
    plan = await session.explain("SELECT * FROM t WHERE id = 5")
    assert plan.label == "QUERY PLAN"
    (scan,) = plan.children
    assert re.match(r"Index Scan on t using t_pkey  \(cost=\d+\.\d\d\.\.\d+\.\d\d ", scan.label)
    # Conditions are lines of their own under the node, as psql prints them.
    assert [c.label for c in scan.children] == ["Index Cond: (id = 5)"]
    assert all("\n" not in node.label for node in _walk(plan))

    plan = await session.explain("SELECT * FROM t a JOIN t b ON a.id = b.n WHERE b.name <> 'x'")
    (join,) = plan.children
    assert join.label.split()[0] in {"Hash", "Merge", "Nested"}
    scans = [node.label for node in _walk(join)]
    assert any(label.startswith("Seq Scan on t a") or " on t a" in label for label in scans)
    assert any("Filter: (name <> 'x'::text)" in label for label in scans)


def _walk(node: object) -> list[object]:
    children = getattr(node, "children", ())
    return [node, *[found for child in children for found in _walk(child)]]


async def test_the_console_is_the_postgres_one(session: ConsoleSession) -> None:
    assert isinstance(session, PostgresConsole) and session.dialect == "postgres"


def test_a_batch_holds_as_many_rows_as_fit_its_bytes() -> None:
    from dbinspect.query.console import BATCH_BYTES, batch_for

    small = [("x" * 10, 1)] * 5
    assert batch_for(small, 1_000) == 1_000
    long = [("x" * (BATCH_BYTES // 2),)] * 2
    assert batch_for(long, 1_000) == 2
    assert batch_for([(b"y" * (BATCH_BYTES * 3),)], 1_000) == 1
    assert batch_for([], 1_000) == 1_000


async def test_long_rows_are_fetched_a_few_at_a_time_and_all_of_them_come(url: str) -> None:
    from dbinspect.query.script import run_buffer

    run_sql(
        url,
        "CREATE TABLE wide (id int PRIMARY KEY, body text);"
        "INSERT INTO wide SELECT i, repeat(chr(64 + i), 3000000) FROM generate_series(1, 12) i",
    )
    session = await open_console(parse_url(url), read_only=True)
    try:
        outcome = await session.run("SELECT id, body FROM wide ORDER BY id")
        assert outcome.cursor is not None
        head = outcome.cursor._head  # type: ignore[attr-defined]
        assert 1 <= len(head) <= 3  # 8 MB of 3 MB rows, not the usual 200
        await outcome.cursor.close()
        out = io.BytesIO()
        await run_buffer(session, "SELECT id, body FROM wide ORDER BY id", "csv", out)
    finally:
        await session.aclose()
    records = out.getvalue().split(b"\r\n")
    assert records[0] == b"id,body"
    assert [r.split(b",")[0] for r in records[1:13]] == [str(i).encode() for i in range(1, 13)]
    assert all(len(r) == len(str(i)) + 1 + 3_000_000 for i, r in enumerate(records[1:13], 1))


async def test_write_mode_runs_what_cannot_run_in_a_transaction_outside_one(
    session: ConsoleSession, url: str
) -> None:
    done = await session.run("CREATE INDEX CONCURRENTLY t_name ON t (name)", write=True)
    assert not done.pending and "ran outside a transaction" in " ".join(done.notes)
    assert query(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_name'::regclass") == [
        (True,)
    ]
    done = await session.run("VACUUM t", write=True)
    assert not done.pending
    await session.run("DROP INDEX CONCURRENTLY t_name", write=True)
    assert query(url, "SELECT to_regclass('t_name')") == [(None,)]
    with pytest.raises(StatementError, match=r"^read-only: "):
        await session.run("VACUUM t")
    # An ordinary write still waits for its commit.
    pending = await session.run("UPDATE t SET n = n WHERE id = 1", write=True)
    assert pending.pending
    await session.rollback()
