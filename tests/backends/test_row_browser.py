"""The row browser against the SQLite backend, through the backend-neutral protocol only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.browse.browser import RowBrowser
from dbinspect.browse.protocol import Relation, RowPager
from dbinspect.browse.window import FetchPlan
from dbinspect.errors import DbInspectError
from dbinspect.models import Filter, RowQuery
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

ROWS = 3_000


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "rows.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER)")
    conn.executemany(
        "INSERT INTO t(name, grp) VALUES (?, ?)", [(f"n{i:05}", i % 3) for i in range(ROWS)]
    )
    conn.execute("CREATE TABLE pk(a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID")
    conn.executemany("INSERT INTO pk VALUES (?, ?)", [(f"k{i % 10}", i) for i in range(500)])
    conn.execute("CREATE VIEW v AS SELECT name, grp FROM t WHERE grp = 1")
    conn.commit()
    conn.close()
    return path


@pytest.fixture
async def backend(database: Path) -> AsyncIterator[SqliteBackend]:
    opened = await SqliteBackend.open(parse_url(str(database)))
    try:
        yield opened
    finally:
        await opened.aclose()


def browser_on(pager: RowPager) -> RowBrowser:
    async def get() -> RowPager:
        return pager

    return RowBrowser(get)


def ids(browser: RowBrowser) -> list[object]:
    return [row.values[0] for row in browser.window.rows]


async def test_pages_after_and_before_a_key(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    opened = await browser.open(Relation(None, "t"), RowQuery())
    assert opened.above == 0 and browser.total == ROWS and browser.exact
    first = ids(browser)
    assert first[:3] == [1, 2, 3]
    page, start = await browser.read(FetchPlan("after", 100))
    assert start == browser.window.end and page.rows[0][0] == first[-1] + 1
    browser.apply(FetchPlan("after", 100), page, start, (0, 10))
    assert ids(browser)[-1] == first[-1] + 100


async def test_the_last_rows_and_a_jump_to_about_here(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    await browser.open(Relation(None, "t"), RowQuery())
    page, start = await browser.read(FetchPlan("last", 50))
    assert page.rows[-1][0] == ROWS and start == ROWS - 50
    page, start = await browser.read(FetchPlan("seek", 50, position=1_500))
    assert abs(start - 1_500) <= 1 and page.rows[0][0] == start + 1


async def test_a_filter_is_data_and_the_count_follows_it(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    query = RowQuery(filters=(Filter("grp", "equals", "2"),), sort_column="name", descending=True)
    await browser.open(Relation(None, "t"), query)
    assert not browser.exact  # a filtered count may scan: counted on request
    steps = [step async for step in browser.count()]
    assert steps[-1][1] == pytest.approx(1.0)
    assert browser.total == ROWS // 3 and browser.exact
    names = [row.values[1] for row in browser.window.rows]
    assert names == sorted(names, reverse=True)
    assert all(row.values[2] == 2 for row in browser.window.rows)


async def test_opening_at_a_key_puts_it_in_the_window(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    opened = await browser.open(Relation(None, "pk"), RowQuery(), ("k5", 255))
    row = browser.window.rows[opened.above]
    assert (row.values[0], row.values[1]) == ("k5", 255)


async def test_a_view_pages_by_position(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    await browser.open(Relation(None, "v"), RowQuery())
    assert [row.values[1] for row in browser.window.rows] == [1] * len(browser.window.rows)
    async for _ in browser.count():
        pass
    assert browser.total == ROWS // 3


async def test_reread_shows_other_writers_and_keeps_the_row(
    backend: SqliteBackend, database: Path
) -> None:
    browser = browser_on(backend)
    await browser.open(Relation(None, "t"), RowQuery(), (1_000,))
    anchor = browser.window.start + 5
    anchored = browser.window.get(anchor)
    assert anchored is not None
    conn = sqlite3.connect(database)
    conn.execute("UPDATE t SET name = 'changed' WHERE id = ?", (anchored.values[0],))
    conn.execute("INSERT INTO t(name, grp) VALUES ('appended', 0)")
    conn.commit()
    conn.close()
    position, _ = await browser.reread(anchor)
    row = browser.window.get(position)
    assert row is not None and row.key == anchored.key and row.values[1] == "changed"
    assert browser.total == ROWS + 1


async def test_relations_are_qualified_by_schema(backend: SqliteBackend) -> None:
    browser = browser_on(backend)
    await browser.open(Relation("main", "t"), RowQuery())
    assert ids(browser)[0] == 1
    with pytest.raises(DbInspectError, match="only the main schema"):
        await browser.open(Relation("other", "t"), RowQuery())
    with pytest.raises(DbInspectError, match="no such table"):
        await browser.open(Relation(None, "missing"), RowQuery())


async def test_the_change_token_moves_with_other_writers(
    backend: SqliteBackend, database: Path
) -> None:
    before = await backend.change_token()
    assert await backend.change_token() == before
    conn = sqlite3.connect(database)
    conn.execute("INSERT INTO t(name, grp) VALUES ('x', 0)")
    conn.commit()
    conn.close()
    assert await backend.change_token() != before


@pytest.mark.parametrize(
    ("found", "want"),
    [
        (Filter("name", "equals", "N00003"), 0),
        (Filter("name", "equals", "N00003", case_sensitive=False), 1),
        (Filter("name", "like", "N0000%"), 0),
        (Filter("name", "like", "N0000%", case_sensitive=False), 10),
        (Filter("name", "like", "n0000_"), 10),
        (Filter("name", "is null"), 0),
    ],
    ids=["equals", "equals-nocase", "like-case", "like-nocase", "like-one-char", "null"],
)
async def test_the_case_rule_of_a_filter(backend: SqliteBackend, found: Filter, want: int) -> None:
    browser = browser_on(backend)
    await browser.open(Relation(None, "t"), RowQuery(filters=(found,)))
    async for _ in browser.count():
        pass
    assert browser.total == want


async def test_rows_in_view_changed_sees_a_changed_row_in_view_and_rows_added_at_the_end(
    backend: SqliteBackend, database: Path
) -> None:
    def write(sql: str) -> None:
        conn = sqlite3.connect(database)
        conn.execute(sql)
        conn.commit()
        conn.close()

    browser = browser_on(backend)
    await browser.open(Relation(None, "t"), RowQuery())
    assert not await browser.rows_in_view_changed(0, 10)
    write("UPDATE t SET name = 'changed' WHERE id = 500")  # far below the view
    assert not await browser.rows_in_view_changed(0, 10)
    write("UPDATE t SET name = 'changed' WHERE id = 3")
    assert await browser.rows_in_view_changed(0, 10)

    write("CREATE TABLE few(id INTEGER PRIMARY KEY, x)")
    write("INSERT INTO few(x) VALUES (1), (2), (3)")
    await backend.aclose()
    reopened = await SqliteBackend.open(parse_url(str(database)))
    try:
        few = browser_on(reopened)
        await few.open(Relation(None, "few"), RowQuery())
        assert few.total == 3
        assert not await few.rows_in_view_changed(0, 3)
        write("INSERT INTO few(x) VALUES (4)")  # after the last row in view
        assert await few.rows_in_view_changed(0, 3)
    finally:
        await reopened.aclose()
