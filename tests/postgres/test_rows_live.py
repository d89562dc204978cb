"""PostgreSQL browsing while the server is busy: cancelling on the server, other sessions'
commits, and the row browser end to end on `PostgresRows`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from pg_rows_kit import BrowsableRows, browser_on, open_rows
from pgkit import fresh_database, query, run_sql

from dbinspect import pg_driver
from dbinspect.browse.protocol import Relation
from dbinspect.browse.window import FetchPlan
from dbinspect.errors import DbInspectError, QueryError
from dbinspect.models import Filter, RowQuery
from dbinspect.url import parse_url

ROWS = 5_000
SETUP = f"""
CREATE TABLE t (id int PRIMARY KEY, name text, doc jsonb);
INSERT INTO t SELECT g, 'n' || g, jsonb_build_object('g', g) FROM generate_series(1, {ROWS}) g;
CREATE TABLE log (at int);
-- Counting this never ends on its own: a millisecond's sleep for each of 10^8 rows.
CREATE VIEW slow AS
  SELECT g FROM generate_series(1, 100000000) g WHERE pg_sleep(0.001) IS NOT NULL;
"""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fresh_database() as created:
        run_sql(created, SETUP)
        yield created


@pytest.fixture
async def rows(url: str) -> AsyncIterator[BrowsableRows]:
    async with open_rows(url) as opened:
        yield opened


def state_of(url: str, pid: int) -> tuple[str, str]:
    """The backend's state and its latest statement, as pg_stat_activity shows them."""
    found = query(url, "SELECT state, query FROM pg_stat_activity WHERE pid = %s", (pid,))
    return str(found[0][0]), str(found[0][1])


async def until_counting(url: str, pid: int) -> None:
    """Wait until the backend is running the count (at most 20 s)."""
    for _ in range(400):
        state, statement = state_of(url, pid)
        if state == "active" and "count(*)" in statement:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"the count never started: {state_of(url, pid)}")


async def count_all(rows: BrowsableRows) -> None:
    async for _ in rows.count_stepwise(Relation(None, "slow"), RowQuery()):
        pass


async def test_interrupt_stops_the_count_on_the_server(rows: BrowsableRows, url: str) -> None:
    pid = rows.conn.info.backend_pid
    counting = asyncio.create_task(count_all(rows))
    await until_counting(url, pid)
    await rows.interrupt()
    with pytest.raises(QueryError, match="interrupted"):
        await counting
    assert state_of(url, pid)[0] == "idle"
    assert (await rows.fetch_page(Relation(None, "t"), RowQuery(), limit=1)).keys == ((1,),)


async def test_a_cancelled_task_stops_the_count_on_the_server(
    rows: BrowsableRows, url: str
) -> None:
    pid = rows.conn.info.backend_pid
    counting = asyncio.create_task(count_all(rows))
    await until_counting(url, pid)
    counting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await counting
    assert state_of(url, pid)[0] == "idle"
    assert (await rows.row_estimate(Relation(None, "t"))).value == ROWS


async def test_interrupting_an_idle_connection_is_harmless(rows: BrowsableRows) -> None:
    await rows.interrupt()
    assert (await rows.fetch_page(Relation(None, "t"), RowQuery(), limit=1)).keys == ((1,),)


async def test_another_sessions_commit_moves_the_change_token(
    rows: BrowsableRows, url: str
) -> None:
    before = await rows.change_token()
    run_sql(url, "INSERT INTO log VALUES (1)")
    assert await rows.change_token() != before


async def test_polling_and_reading_do_not_move_the_change_token(
    rows: BrowsableRows, url: str
) -> None:
    # The server is shared: other sessions may commit at any time. Find a moment in which
    # no session committed (an observer sees the same next transaction id before and
    # after); our polls and reads in it must leave the token alone. A poll that counted
    # itself would move the observer too, and no such moment would ever come.
    observer = await pg_driver.connect_async(parse_url(url))
    xmax = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
    try:
        for _ in range(300):
            observed = await (await observer.execute(xmax)).fetchone()
            tokens = [await rows.change_token()]
            await rows.fetch_page(Relation(None, "t"), RowQuery(sort_column="name"), limit=50)
            await rows.count_stepwise(Relation(None, "t"), RowQuery()).__anext__()
            tokens.append(await rows.change_token())
            if await (await observer.execute(xmax)).fetchone() == observed:
                assert len(set(tokens)) == 1, tokens
                return
            await asyncio.sleep(0.02)
    finally:
        await observer.close()
    pytest.fail("no moment without another session's commit, or the poll counts itself")


async def test_the_row_browser_end_to_end(rows: BrowsableRows, url: str) -> None:
    browser = browser_on(rows)
    opened = await browser.open(Relation(None, "t"), RowQuery())
    assert opened.above == 0 and browser.total == ROWS and browser.exact
    assert [row.values[0] for row in browser.window.rows][:3] == [1, 2, 3]
    last_shown = browser.window.rows[-1].values[0]
    page, start = await browser.read(FetchPlan("after", 100))
    assert start == browser.window.end and page.rows[0][0] == int(str(last_shown)) + 1
    page, start = await browser.read(FetchPlan("last", 50))
    assert page.rows[-1][0] == ROWS and start == ROWS - 50
    browser.apply(FetchPlan("last", 50), page, start, (ROWS - 10, ROWS))
    page, start = await browser.read(FetchPlan("seek", 50, position=2_500))
    assert page.rows[0][0] == start + 1
    cell = await browser.cell((7,), "doc", 100)
    assert cell is not None and cell.value == '{"g": 7}' and cell.type == "jsonb"


async def test_the_row_browser_filters_counts_and_follows_writers(
    rows: BrowsableRows, url: str
) -> None:
    browser = browser_on(rows)
    found = Filter("name", "like", "N1%", case_sensitive=False)
    query_ = RowQuery(filters=(found,), sort_column="name", descending=True)
    await browser.open(Relation(None, "t"), query_)
    assert not browser.exact
    steps = [step async for step in browser.count()]
    assert steps[-1][1] == 1.0 and browser.exact
    assert browser.total == query(url, "SELECT count(*) FROM t WHERE name LIKE 'n1%'")[0][0]
    names = [row.values[1] for row in browser.window.rows]
    assert names == sorted(names, reverse=True)
    anchor = browser.window.start + 3
    anchored = browser.window.get(anchor)
    assert anchored is not None
    run_sql(url, f"UPDATE t SET doc = '{{\"changed\": true}}' WHERE id = {anchored.values[0]}")
    position, _ = await browser.reread(anchor)
    row = browser.window.get(position)
    assert row is not None and row.key == anchored.key and row.values[2] == '{"changed": true}'


async def test_the_row_browser_on_a_missing_relation(rows: BrowsableRows) -> None:
    with pytest.raises(DbInspectError, match="no such table or view"):
        await browser_on(rows).open(Relation(None, "missing"), RowQuery())


async def test_a_lock_held_elsewhere_is_one_clear_error(rows: BrowsableRows, url: str) -> None:
    holder = pg_driver.connect(parse_url(url), autocommit=False)
    try:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(QueryError, match="another session holds a lock on it"):
            await rows.fetch_page(Relation(None, "t"), RowQuery(), limit=1)
    finally:
        holder.rollback()
        holder.close()
    assert (await rows.fetch_page(Relation(None, "t"), RowQuery(), limit=1)).keys == ((1,),)


async def test_a_terminated_session_is_one_clear_error(rows: BrowsableRows, url: str) -> None:
    query(url, "SELECT pg_terminate_backend(%s)", (rows.conn.info.backend_pid,))
    with pytest.raises(QueryError, match=r"connection .* was lost") as raised:
        await rows.fetch_page(Relation(None, "t"), RowQuery(), limit=1)
    assert raised.value.hint == "run it again; in the app, refresh"
