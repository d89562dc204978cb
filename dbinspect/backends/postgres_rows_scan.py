"""Reads PostgreSQL pages and counts: keyset seeks, block windows for ctid, offsets for views.

A table without a primary key is paged by `ctid`, the place a row is stored. Ordering a
whole table by ctid would sort it, so such a page is read a window of blocks at a time
(`ctid >= '(b,0)' AND ctid < '(b+n,0)'`, a TID Range Scan reading only those blocks),
the window doubling until the page is full or the table ends. Counting goes by block
ranges too, one statement per range, so that it reports progress and stops between
ranges, and a cancel request stops the range being counted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncGenerator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from dbinspect.backends.postgres_rows_source import RowSource, block_counts
from dbinspect.backends.postgres_rows_sql import (
    Composable,
    PageShape,
    Params,
    Statement,
    filter_sql,
    order_sql,
    page_sql,
    seek_sql,
    to_page,
)
from dbinspect.browse.offsets import offset_window
from dbinspect.errors import QueryError
from dbinspect.models import RowPage, RowQuery, Value
from dbinspect.pg_driver import sql

if TYPE_CHECKING:
    from dbinspect.pg_driver import AsyncConnection

COUNT_CHUNKS = 40
"""How many block ranges a count is split into, for progress and stopping."""
MIN_CHUNK_BLOCKS = 1024
"""The fewest blocks (8 MB) a counted range has: smaller ones cost more round trips than
they save."""
_CTID = re.compile(r"\((\d+),(\d+)\)")

Rows = list[tuple[Any, ...]]


async def fetch_all(conn: AsyncConnection, statement: Statement, params: Params) -> Rows:
    """The rows of one statement."""
    cursor = await conn.execute(statement, params)
    rows: Rows = await cursor.fetchall()
    return rows


async def _select(
    conn: AsyncConnection,
    shape: PageShape,
    query: RowQuery,
    extra: Sequence[Composable],
    extra_params: Params,
    *,
    forward: bool,
    limit: int,
    offset: int | None = None,
) -> Rows:
    """Up to `limit` rows under the query's filters and `extra`, in reading order."""
    conditions, params = filter_sql(shape.source, query)
    conditions += extra
    params += extra_params
    order = order_sql(shape.source, query, forward=forward)
    statement = page_sql(shape, conditions, order, offset=offset is not None)
    params.append(limit)
    if offset is not None:
        params.append(offset)
    return await fetch_all(conn, statement, params)


async def fetch_page(
    conn: AsyncConnection,
    source: RowSource,
    query: RowQuery,
    *,
    after: Sequence[Value] | None = None,
    before: Sequence[Value] | None = None,
    at: Sequence[Value] | None = None,
    offset: int | None = None,
    limit: int = 100,
    cell_limit: int | None = None,
) -> RowPage:
    """Read one page of rows in browsing order.

    Args:
        conn: The connection to read on.
        source: The relation and its key.
        query: Filter and sort.
        after: Rows strictly after this position (sort value then key).
        before: The last `limit` rows strictly before this position; `()` for the last rows.
        at: Rows from this position on, inclusive.
        offset: Rows from this many rows in (a scan: slow on big relations).
        limit: How many rows at most.
        cell_limit: Cut long cells to this many characters (bytes for bytea).
    """
    sort = source.column(query.sort_column) if query.sort_column else None
    shape = PageShape(source, sort, cell_limit)
    if source.by_offset:
        start, count = await offset_window(
            after, before, at, offset, limit, partial(count_rows, conn, source, query)
        )
        rows = [] if count <= 0 else await _select(
            conn, shape, query, [], [], forward=True, limit=count, offset=start
        )  # fmt: skip
        return to_page(shape, rows, first_offset=start)
    forward = before is None
    position = after if after is not None else at if at is not None else before or None
    if limit <= 0:
        return to_page(shape, [])
    if source.by_ctid and source.segments and sort is None and offset is None:
        rows = await _ctid_rows(
            conn, shape, query, position, forward=forward, inclusive=at is not None, limit=limit
        )
        return to_page(shape, rows)
    extra: list[Composable] = []
    params: Params = []
    if position is not None:
        seek, params = seek_sql(source, query, position, forward=forward, inclusive=at is not None)
        extra.append(seek)
    rows = await _select(
        conn, shape, query, extra, params, forward=forward, limit=limit, offset=offset
    )
    if not forward:
        rows.reverse()
    return to_page(shape, rows)


def block_of(ctid: Value) -> int:
    """The block number of a ctid key, `'(block,item)'`.

    Raises:
        QueryError: The value is not a ctid.
    """
    found = _CTID.fullmatch(str(ctid))
    if found is None:
        raise QueryError(f"not a row position: {ctid!r}")
    return int(found[1])


def _first_window(source: RowSource, limit: int) -> int:
    """Blocks that likely hold `limit` rows, by the table's rows per block."""
    if source.relpages > 0 and source.reltuples > 0:
        return math.ceil(limit * source.relpages / source.reltuples * 1.25) + 1
    return max(1, limit)


def _tid(block: int) -> str:
    return f"({block},0)"


async def _ctid_rows(
    conn: AsyncConnection,
    shape: PageShape,
    query: RowQuery,
    position: Sequence[Value] | None,
    *,
    forward: bool,
    inclusive: bool,
    limit: int,
) -> Rows:
    """Rows in ctid order (tableoid first on a partitioned table), read by block windows."""
    source = shape.source
    segments = source.segments
    sizes = await block_counts(conn, source)
    partitioned = source.keys[0] == "tableoid"
    window = _first_window(source, limit)
    seek: tuple[int, Composable, str] | None = None
    """(segment, condition, ctid) of the position, which bounds its own segment."""
    if position is None:
        segment = 0 if forward else len(segments) - 1
        block: int | None = 0 if forward else None
    else:
        oid = int(position[0] or 0) if partitioned else segments[0]
        ctid = str(position[-1])
        if oid in segments:
            segment = segments.index(oid)
            op = (">" if forward else "<") + ("=" if inclusive else "")
            seek = (segment, sql.SQL("r.ctid {} %s").format(sql.SQL(op)), ctid)
            block = block_of(ctid) + (0 if forward else 1)
        else:  # a partition attached or detached since: go on from the next one
            later = [i for i, s in enumerate(segments) if (s > oid) == forward and s != oid]
            segment = (later[0] if forward else later[-1]) if later else len(segments)
            block = 0 if forward else None
    rows: Rows = []
    while len(rows) < limit and 0 <= segment < len(segments):
        conditions: list[Composable] = []
        params: Params = []
        if partitioned:
            conditions.append(sql.SQL("r.tableoid = %s"))
            params.append(str(segments[segment]))
        if forward:
            low = block or 0
            high: int | None = low + window
            done = high is not None and high >= sizes[segment]
            if done:
                high = None  # the last window reads to the end, rows added since too
        else:
            high = block
            low = max(0, (sizes[segment] if high is None else high) - window)
            done = low == 0
        conditions.append(sql.SQL("r.ctid >= %s"))
        params.append(_tid(low))
        if high is not None:
            conditions.append(sql.SQL("r.ctid < %s"))
            params.append(_tid(high))
        if seek is not None and seek[0] == segment:
            conditions.append(seek[1])
            params.append(seek[2])
        rows += await _select(
            conn, shape, query, conditions, params, forward=forward, limit=limit - len(rows)
        )
        if done:
            segment += 1 if forward else -1
            block = 0 if forward else None
        else:
            block = high if forward else low
            window *= 2
    if not forward:
        rows.reverse()
    return rows


async def count_rows(conn: AsyncConnection, source: RowSource, query: RowQuery) -> int:
    """Count the rows the query selects, in one statement."""
    conditions, params = filter_sql(source, query)
    return await _count(conn, source, conditions, params)


async def _count(
    conn: AsyncConnection, source: RowSource, conditions: Sequence[Composable], params: Params
) -> int:
    statement = sql.SQL("SELECT count(*) FROM {}").format(source.relation)
    if conditions:
        statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
    rows = await fetch_all(conn, statement, params)
    return int(rows[0][0])


async def count_stepwise(
    conn: AsyncConnection, source: RowSource, query: RowQuery
) -> AsyncGenerator[tuple[int, float], None]:
    """Count rows by block ranges, yielding `(rows so far, fraction done)` after each.

    A range is counted across every partition at once (`ctid` ranges apply to each
    leaf), so a partitioned table is read once. Views and foreign tables are counted in
    one statement (one yield at the end).
    """
    if not source.segments:
        yield await count_rows(conn, source, query), 1.0
        return
    blocks = max(await block_counts(conn, source), default=0)
    step = max(MIN_CHUNK_BLOCKS, math.ceil(blocks / COUNT_CHUNKS))
    filters, params = filter_sql(source, query)
    total, low = 0, 0
    while True:
        high = low + step
        last = high >= blocks
        conditions = [*filters, sql.SQL("r.ctid >= %s")]
        values = [*params, _tid(low)]
        if not last:  # the last range reads to the end: rows added since count too
            conditions.append(sql.SQL("r.ctid < %s"))
            values.append(_tid(high))
        total += await _count(conn, source, conditions, values)
        yield total, 1.0 if last else high / blocks
        if last:
            return
        low = high


async def rows_before(
    conn: AsyncConnection, source: RowSource, query: RowQuery, position: Sequence[Value]
) -> int:
    """How many rows precede `position` in browsing order, counted (a scan)."""
    if source.by_offset:
        return int(position[-1] or 0)
    conditions, params = filter_sql(source, query)
    seek, seek_params = seek_sql(source, query, position, forward=False, inclusive=False)
    return await _count(conn, source, [*conditions, seek], params + seek_params)


async def planned_rows(
    conn: AsyncConnection,
    source: RowSource,
    query: RowQuery,
    extra: Sequence[Composable] = (),
    extra_params: Params | None = None,
) -> int:
    """The planner's estimate of how many rows the query (and `extra`) selects.

    Free of any scan: the planner reads it from the statistics (`reltuples` scaled to
    the table's current size, the histograms), or from the size where there are none.
    """
    conditions, params = filter_sql(source, query)
    conditions += extra
    params += extra_params or []
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(source.relation)
    if conditions:
        statement += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
    rows = await fetch_all(conn, statement, params)
    plan = rows[0][0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return max(0, round(float(plan[0]["Plan"]["Plan Rows"])))
