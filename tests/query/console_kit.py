"""What the console tests of both backends share: a result browsed as the Data pane does.

A statement's result goes through `ResultPager` into the row browser, and the pages it
reads are compared with the rows a plain connection reads at the same positions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dbinspect.browse.browser import CELL_LIMIT, RowBrowser
from dbinspect.browse.protocol import RowPager
from dbinspect.browse.window import FetchPlan
from dbinspect.models import RowQuery, Value
from dbinspect.query.console import ConsoleSession, ResultCursor
from dbinspect.query.pager import RESULT, ResultPager

Rows = list[tuple[Value, ...]]
Direct = Callable[[int, int], Rows]
"""The rows `limit` from `offset` on, read by a plain connection: `direct(offset, limit)`."""


def browser_on(pager: RowPager) -> RowBrowser:
    async def get() -> RowPager:
        return pager

    return RowBrowser(get)


async def browse(session: ConsoleSession, sql: str) -> tuple[RowBrowser, ResultPager]:
    """Run `sql` and open its result in a row browser, as the Query pane does."""
    outcome = await session.run(sql)
    assert outcome.cursor is not None, f"no rows from {sql}"
    pager = ResultPager(session, outcome.cursor)
    browser = browser_on(pager)
    await browser.open(RESULT, RowQuery())
    return browser, pager


def held(browser: RowBrowser) -> Rows:
    return [row.values for row in browser.window.rows]


def keys(browser: RowBrowser) -> list[int]:
    return [int(row.key[0] or 0) for row in browser.window.rows]


async def step(browser: RowBrowser, plan: FetchPlan, viewport: tuple[int, int]) -> int:
    """Read and apply `plan` as the grid does; the position of the first row read."""
    page, start = await browser.read(plan)
    browser.apply(plan, page, start, viewport)
    browser.settle()
    return start


async def count(browser: RowBrowser) -> int:
    async for _ in browser.count():
        pass
    return browser.total


async def check_paging(browser: RowBrowser, total: int, direct: Direct) -> None:
    """First page, pages forward, End, back from End, and a jump: rows as read directly."""
    window = browser.window
    page = window.page_rows
    assert window.start == 0 and window.at_start
    assert held(browser) == direct(0, len(window))
    assert keys(browser) == list(range(len(window)))

    for _ in range(3):  # forward, as scrolling down asks
        before = window.end
        start = await step(browser, FetchPlan("after", page), (window.end - 10, window.end))
        assert start == before and window.end == min(before + page, total)
    assert held(browser) == direct(window.start, len(window))
    assert keys(browser) == list(range(window.start, window.end))

    assert await count(browser) == total and browser.exact

    # End: the last rows, numbered from the count.
    start = await step(browser, FetchPlan("last", page), (total - 10, total))
    assert window.at_end and window.end == total
    assert start == total - min(page, total)
    assert held(browser)[-1] == direct(total - 1, 1)[0]

    # Back from End: the page before the window's first row.
    for _ in range(2):
        await step(browser, FetchPlan("before", page), (window.start, window.start + 10))
    assert held(browser) == direct(window.start, len(window))
    assert keys(browser) == list(range(window.start, window.end))

    # A jump to about the middle.
    middle = total // 2
    start = await step(browser, FetchPlan("seek", page, position=middle), (middle, middle + 10))
    assert start == middle
    assert held(browser) == direct(middle, len(window))
    assert window.peak <= window.max_rows


async def check_cells(
    browser: RowBrowser, pager: ResultPager, text: str, blob: bytes, columns: Sequence[str]
) -> None:
    """A long text and a long blob: cut to the grid's limit, in full up to the detail's."""
    (row,) = browser.window.rows
    text_column, blob_column = columns
    text_index, blob_index = pager.columns.index(text_column), pager.columns.index(blob_column)
    assert row.values[text_index] == text[:CELL_LIMIT]
    assert row.values[blob_index] == blob[:CELL_LIMIT]
    assert row.truncated == {text_index: len(text), blob_index: len(blob)}

    cell = await browser.cell(row.key, text_column, 1_000)
    assert cell is not None
    assert (cell.value, cell.size, cell.type) == (text[:1_000], len(text), "text")
    cell = await browser.cell(row.key, blob_column, 1_000)
    assert cell is not None
    assert (cell.value, cell.size, cell.type) == (blob[:1_000], len(blob), "blob")
    whole = await browser.cell(row.key, text_column, len(text) + 5)
    assert whole is not None and whole.value == text and whole.size == len(text)
    assert await browser.cell(row.key, "no such column", 10) is None
    assert await browser.cell((5,), text_column, 10) is None  # past the last row


async def check_stream(pager: ResultPager, total: int, direct: Direct) -> None:
    """Every row once, in batches of the size asked for, in order."""
    sizes = []
    streamed: Rows = []
    async for batch in pager.stream_rows(RESULT, RowQuery(), batch_rows=700):
        assert batch.columns == pager.columns
        sizes.append(len(batch.rows))
        streamed.extend(tuple(r) for r in batch.rows)
    assert sum(sizes) == total and all(size == 700 for size in sizes[:-1])
    assert streamed == direct(0, total)


async def check_empty(session: ConsoleSession, sql: str, columns: tuple[str, ...]) -> None:
    """A result of no rows: its columns are still known, and every page is empty."""
    browser, pager = await browse(session, sql)
    assert pager.columns == columns
    assert len(browser.window) == 0 and browser.window.at_end
    assert await count(browser) == 0
    await step(browser, FetchPlan("last", 100), (0, 10))
    assert held(browser) == []
    batches = [b async for b in pager.stream_rows(RESULT, RowQuery(), batch_rows=10)]
    assert [(b.columns, list(b.rows)) for b in batches] == [(columns, [])]


async def check_duplicate_names(session: ConsoleSession, sql: str) -> None:
    """`SELECT 1 AS a, 2 AS a, 3 AS "a:1"`: the grid's names are unique, each on its value."""
    browser, pager = await browse(session, sql)
    assert len(set(pager.columns)) == 3 and pager.columns[0] == "a"
    assert held(browser) == [(1, 2, 3)]
    row = browser.window.rows[0]
    for index, name in enumerate(pager.columns):
        cell = await browser.cell(row.key, name, 10)
        assert cell is not None and cell.value == index + 1


async def first_rows(cursor: ResultCursor, limit: int = 10) -> Rows:
    return await cursor.rows(0, limit)
