"""Estimates for PostgreSQL browsing: row counts, a jump to "about here", a row's position.

Nothing here scans a big table. The row count comes from `pg_class.reltuples` scaled to
the table's current size, as the planner scales it. A jump into the middle of a table
takes its key from the primary key's histogram in `pg_stats` (equal-frequency buckets:
the bound at 50% is near the middle row), or from the block at that fraction of the
table where rows are keyed by ctid; then it is one index (or TID range) seek.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from dbinspect.backends.postgres_rows_scan import (
    block_of,
    count_rows,
    fetch_all,
    fetch_page,
    planned_rows,
    rows_before,
)
from dbinspect.backends.postgres_rows_source import RowSource, block_counts
from dbinspect.backends.postgres_rows_sql import seek_sql
from dbinspect.models import RowCount, RowPage, RowQuery, Value
from dbinspect.pg_driver import sql

if TYPE_CHECKING:
    from dbinspect.pg_driver import AsyncConnection

EXACT_BLOCKS = 1280
"""Relations up to this many blocks (10 MB) are counted exactly: it takes milliseconds."""

Reader = Callable[..., Awaitable[RowPage]]
"""`fetch_page` with the relation, query, limit and cell limit filled in."""

_SEGMENT_STATS = sql.SQL(
    "SELECT c.reltuples::float8, c.relpages::int8, "
    "pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int8 "
    "FROM unnest(%s::oid[]) WITH ORDINALITY AS u(oid, n) "
    "JOIN pg_catalog.pg_class AS c ON c.oid = u.oid ORDER BY u.n"
)
_HISTOGRAM = sql.SQL(
    # The bounds as text: anyarray reads back as text[] whatever the element type, and
    # each bound is then a parameter the server reads as the key's type.
    "SELECT s.histogram_bounds::text::text[] FROM pg_catalog.pg_stats AS s "
    "WHERE s.schemaname = %s AND s.tablename = %s AND s.attname = %s AND s.inherited = %s"
)


async def row_estimate(conn: AsyncConnection, source: RowSource) -> RowCount:
    """The unfiltered relation's row count: exact when small, else from `reltuples`."""
    if source.segments:
        cursor = await conn.execute(_SEGMENT_STATS, [list(source.segments)])
        stats = [(float(t), int(p), int(b)) for t, p, b in await cursor.fetchall()]
        if sum(b for _, _, b in stats) <= EXACT_BLOCKS:
            return RowCount(await count_rows(conn, source, RowQuery()), True)
        # reltuples is -1 until the first VACUUM or ANALYZE: then ask the planner,
        # which guesses from the size and the row width.
        if all(t >= 0 and (p > 0 or b == 0) for t, p, b in stats):
            return RowCount(round(sum(t / p * b for t, p, b in stats if p > 0)), False)
    return RowCount(await planned_rows(conn, source, RowQuery()), False)


async def histogram(conn: AsyncConnection, source: RowSource, column: str) -> list[str] | None:
    """The histogram bounds of `column` (as text), None without statistics."""
    params = [source.schema, source.name, column, source.relkind == "p"]
    cursor = await conn.execute(_HISTOGRAM, params)
    row = await cursor.fetchone()
    bounds = None if row is None else row[0]
    return bounds if bounds and len(bounds) >= 2 else None


def _interpolate(bounds: Sequence[int], fraction: float) -> int:
    """The integer key at `fraction` of the way through equal-frequency `bounds`."""
    x = fraction * (len(bounds) - 1)
    i = min(int(x), len(bounds) - 2)
    return bounds[i] + round((x - i) * (bounds[i + 1] - bounds[i]))


def _fraction(bounds: Sequence[int], key: int) -> float:
    """How far through equal-frequency `bounds` the integer `key` lies (0 to 1)."""
    j = bisect_right(bounds, key)
    if j == 0:
        return 0.0
    if j >= len(bounds):
        return 1.0
    i = j - 1
    span = bounds[j] - bounds[i]
    return (i + ((key - bounds[i]) / span if span else 0.0)) / (len(bounds) - 1)


async def page_near(
    conn: AsyncConnection,
    source: RowSource,
    query: RowQuery,
    position: int,
    total: int,
    *,
    limit: int,
    cell_limit: int | None = None,
) -> tuple[RowPage, int]:
    """Rows from about `position` of `total` on, and the position of the first one.

    An unfiltered table jumps by the histogram of its key's first column (or by its
    lowest and highest integer, or by block where keyed by ctid); anything else reads
    by offset.
    """
    read = partial(fetch_page, conn, source, query, limit=limit, cell_limit=cell_limit)
    fraction = min(1.0, max(0.0, position / max(1, total - 1)))
    if query.plain and not source.by_offset and position > 0:
        if position + limit >= total:
            # The last rows: the histogram's top bound is only the highest key sampled.
            last = await read(before=())
            return last, max(0, total - len(last.rows))
        found: tuple[RowPage, int] | None = None
        if source.by_ctid and source.segments:
            found = await _near_block(conn, source, read, fraction, total)
        elif source.keys:
            found = await _near_key(conn, source, read, fraction, total)
        if found is not None:
            return found
    return await read(offset=position), position


async def _near_key(
    conn: AsyncConnection, source: RowSource, read: Reader, fraction: float, total: int
) -> tuple[RowPage, int] | None:
    column = source.column(source.keys[0])
    bounds = await histogram(conn, source, column.name)
    ints: list[int] | None = None
    key: Value
    if bounds is not None and column.kind == "int":
        ints = [int(b) for b in bounds]
        key = _interpolate(ints, fraction)
    elif bounds is not None:
        key = bounds[round(fraction * (len(bounds) - 1))]
    elif column.kind == "int":
        # No statistics yet: the lowest and highest key (two index probes) will do.
        statement = sql.SQL("SELECT min({0}), max({0}) FROM {1}").format(
            column.ref, source.relation
        )
        low, high = (await fetch_all(conn, statement, []))[0]
        if low is None:
            return None
        ints = [int(low), int(high)]
        key = _interpolate(ints, fraction)
    else:
        return None
    page = await _read_at(read, (key,), total)
    if isinstance(page, tuple):
        return page
    first = page.keys[0][0] if page.keys else None
    if ints is not None and isinstance(first, int):
        return page, min(max(0, total - 1), round(_fraction(ints, first) * (total - 1)))
    return page, round(fraction * max(0, total - 1))


async def _read_at(
    read: Reader, key: tuple[Value, ...], total: int
) -> RowPage | tuple[RowPage, int]:
    """The page from `key` on; past the last row (old statistics), the last page."""
    page = await read(at=key)
    if page.rows:
        return page
    last = await read(before=())
    return last, max(0, total - len(last.rows))


async def _near_block(
    conn: AsyncConnection, source: RowSource, read: Reader, fraction: float, total: int
) -> tuple[RowPage, int] | None:
    sizes = await block_counts(conn, source)
    blocks = sum(sizes)
    if blocks == 0:
        return None
    target = min(blocks - 1, int(fraction * blocks))
    index, before = _segment_of(sizes, target)
    tid = f"({target - before},0)"
    key = (source.segments[index], tid) if source.keys[0] == "tableoid" else (tid,)
    page = await _read_at(read, key, total)
    if isinstance(page, tuple):
        return page
    return page, _block_position(source, sizes, page.keys[0], total)


def _segment_of(sizes: Sequence[int], block: int) -> tuple[int, int]:
    """The segment holding the `block`th block of all, and the blocks before it."""
    before = 0
    for index, size in enumerate(sizes):
        if block < before + size:
            return index, before
        before += size
    return len(sizes) - 1, before - sizes[-1]


def _block_position(
    source: RowSource, sizes: Sequence[int], key: Sequence[Value], total: int
) -> int:
    """About where the row stored at `key` comes, by its block's place among all blocks."""
    blocks = sum(sizes)
    oid = key[0] if source.keys[0] == "tableoid" else source.segments[0]
    index = source.segments.index(oid) if oid in source.segments else 0
    place = sum(sizes[:index]) + block_of(key[-1])
    return min(max(0, total - 1), round(place / max(1, blocks) * total))


async def position_of(
    conn: AsyncConnection, source: RowSource, query: RowQuery, key: Sequence[Value], total: int
) -> int:
    """About how many rows precede the row at `key`: by block, counted when the
    relation is small, else the planner's estimate of the rows before it."""
    if source.by_offset:
        return int(key[-1] or 0)
    sizes = await block_counts(conn, source)
    if source.by_ctid and sizes and query.plain:
        return _block_position(source, sizes, key, total)
    small = sum(sizes) <= EXACT_BLOCKS if sizes else source.relpages <= EXACT_BLOCKS
    if small:
        return await rows_before(conn, source, query, key)
    seek, params = seek_sql(source, query, key, forward=False, inclusive=False)
    estimate = await planned_rows(conn, source, query, [seek], params)
    return min(estimate, max(0, total - 1))
