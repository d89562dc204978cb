"""Reads every row a browsing query selects in one pass, from one snapshot: the export's path.

Keyset pages suit a window that moves about, but each page is its own statement and its
own moment: an export read page by page while another session updates rows would write
some rows twice (a row updated behind the reader moves ahead of it, on a table paged by
`ctid`) and miss others, and a view paged by OFFSET is run again for every page, so a
view without a fixed order gives a different set of rows. Here one statement, with the
pages' filter and order, is read through a server-side cursor in a REPEATABLE READ
transaction, as `pg_dump` and `psql \\copy` read: every row once, as of one moment.

The cursor runs on a connection of its own (read-only, with the inspection session's
timeouts), so a long export neither holds up the Data pane's queries nor is stopped by
their cancel requests. A table without a primary key is read in storage order, as the
Data pane shows it, without an ORDER BY (which would sort the whole table): the scan
starts at the first block because `synchronize_seqscans` is off for the transaction.

Rows are fetched a batch at a time, the batch sized by the bytes the last one held, so
that a table of multi-megabyte rows costs a few rows of memory, not a thousand.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from dbinspect import pg_driver as driver
from dbinspect.backends.postgres_rows_sql import PageShape, filter_sql, order_sql, page_sql
from dbinspect.browse.protocol import RowBatch
from dbinspect.models import RowQuery
from dbinspect.query.console import batch_for

if TYPE_CHECKING:
    from dbinspect.backends.postgres_rows_source import RowSource

FIRST_LONG_BATCH = 1
"""Rows in the first batch of a relation with long columns (text, bytea, json...), whose
size per row is not known until some are read."""


def stream_statement(source: RowSource, query: RowQuery) -> tuple[Any, list[Any]]:
    """The statement that reads every selected row in browsing order, and its parameters.

    The page statement without its LIMIT (`LIMIT NULL` is none) and, on a table paged by
    `ctid` and not sorted, without ORDER BY: storage order is the order pages show.
    """
    sort = source.column(query.sort_column) if query.sort_column else None
    shape = PageShape(source, sort, None)
    conditions, params = filter_sql(source, query)
    order = None if source.by_ctid and sort is None else order_sql(source, query, forward=True)
    return page_sql(shape, conditions, order, offset=False), [*params, None]


def next_batch_rows(read: list[tuple[Any, ...]], long: list[int], most: int) -> int:
    """How many rows the next fetch asks for, after a fetch that gave `read`: as many as
    fit in `query.console.BATCH_BYTES` at the size of their long values (`long`: their
    places), as `query` reads a result."""
    if not long:
        return most
    return batch_for([tuple(row[i] for i in long) for row in read], most)


async def stream_rows(
    conn: driver.AsyncConnection, source: RowSource, query: RowQuery, batch_rows: int
) -> AsyncGenerator[RowBatch, None]:
    """Every row `query` selects from `source`, in batches, from one snapshot.

    `conn` is a connection of the stream's own, not in autocommit: the transaction is
    begun here and ends when the connection is closed.
    """
    await conn.set_isolation_level(driver.psycopg.IsolationLevel.REPEATABLE_READ)
    await conn.execute("SET LOCAL synchronize_seqscans = off")
    statement, params = stream_statement(source, query)
    width = 0 if source.by_offset else len(source.keys)
    width += query.sort_column is not None
    end = width + len(source.columns)
    long = [width + i for i, column in enumerate(source.columns) if column.long]
    wanted = FIRST_LONG_BATCH if long else batch_rows
    async with conn.cursor(name="dbinspect_export") as cursor:
        await cursor.execute(statement, params)
        first = True
        while True:
            rows = await cursor.fetchmany(min(wanted, batch_rows))
            if rows or first:
                yield RowBatch(source.column_names, [r[width:end] for r in rows])
            first = False
            if not rows:
                return
            wanted = next_batch_rows(rows, long, batch_rows)
