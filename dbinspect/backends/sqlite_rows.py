"""Builds the browsing queries of SQLite: filtered, sorted keyset pages and counts.

Rows are ordered by `(sort column, key...)` where the key is the rowid, the primary key
of a WITHOUT ROWID table, or the row's offset for a view. A page after or before a row
is a row-value comparison on that tuple, so SQLite seeks with an index instead of
skipping rows. NULLs sort first ascending and last descending, as SQLite orders them,
and the comparisons below say so explicitly because `NULL > x` is never true.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_query import fetch_all
from dbinspect.browse.offsets import offset_window
from dbinspect.browse.protocol import Relation
from dbinspect.errors import QueryError
from dbinspect.models import CellValue, Filter, RowPage, RowQuery, SqlDialect, Value

if TYPE_CHECKING:
    from dbinspect.sqlite_driver import AsyncConnection

T = TypeVar("T")

SIZE_GROUP = 100
"""Columns per size-report expression; keeps expression depth far below SQLite's 1000."""
COUNT_CHUNKS = 40
"""How many rowid ranges a counted table is split into, for progress and cancelling."""
RESULT_COLUMNS = 1000
"""The most result columns one page statement has. SQLite refuses more than 2,000 (its
default SQLITE_MAX_COLUMN), and a table or view may have 2,000 columns of its own: a wider
page is read in several statements, on one snapshot (see `_read_together`)."""
SQLITE_ERROR = 1
"""SQLite's generic error code: a missing function, table, column or module, bad syntax."""


TableRef = Relation | str
"""A relation, or a bare name in the main schema."""


def table_name(table: TableRef) -> str:
    """The name of `table` in SQLite's main schema.

    Raises:
        QueryError: The relation is in another schema (attached databases are not read).
    """
    if isinstance(table, str):
        return table
    if table.schema not in (None, "main"):
        raise QueryError(f"{table}: only the main schema is browsed")
    return table.name


def quote(name: str) -> str:
    """Quote an identifier, doubling embedded double quotes."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class Source:
    """What a browsing query reads from and how its rows are keyed."""

    table: str
    keys: tuple[str, ...]
    """`rowid`, the primary key columns, or `offset`."""
    columns: tuple[str, ...]
    """The visible columns in declaration order."""

    @property
    def by_offset(self) -> bool:
        """Whether rows are keyed by position (views)."""
        return self.keys == ("offset",)

    @property
    def key_exprs(self) -> list[str]:
        """The key columns as SQL."""
        return ["rowid" if k == "rowid" else quote(k) for k in self.keys]


COMPARISONS = {"equals": "=", "not equals": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
"""The SQL operator of each comparing filter."""


def filter_sql(query: RowQuery) -> tuple[str, list[Value]]:
    """SQLite's condition for the query's filters, all of which must hold."""
    conditions: list[str] = []
    params: list[Value] = []
    for found in query.filters:
        condition, values = _one_filter_sql(found)
        conditions.append(condition)
        params += values
    return " AND ".join(conditions), params


def _one_filter_sql(found: Filter) -> tuple[str, list[Value]]:
    """SQLite's condition for one filter (see `models.Filter`); values stay parameters."""
    column = quote(found.column)
    value = found.value
    if found.operator == "is not null":
        return f"{column} IS NOT NULL", []
    if found.operator == "is null" or value is None:
        return f"{column} IS NULL", []
    if found.operator == "like":
        if found.case_sensitive:
            # SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive twin.
            return f"{column} GLOB ?", [_like_to_glob(str(value))]
        return f"{column} LIKE ?", [value]
    op = COMPARISONS[found.operator]
    collate = "" if found.case_sensitive else " COLLATE NOCASE"
    number = _as_number(value) if isinstance(value, str) else None
    if number is None:
        return f"{column} {op} ?{collate}", [value]
    if found.operator == "equals":
        # A column without affinity (a view's expression, an untyped column) compares
        # '42' and 42 as different: match the number the text spells too.
        return f"({column} = ?{collate} OR {column} = ?)", [value, number]
    if found.operator == "not equals":
        return f"({column} != ?{collate} AND {column} != ?)", [value, number]
    # An ordering against a number: a column with affinity converts it as it would the
    # text, one without compares numbers as numbers (text sorts after every number).
    return f"{column} {op} ?{collate}", [number]


def _like_to_glob(pattern: str) -> str:
    """A LIKE pattern as a GLOB pattern: `%` is `*`, `_` is `?`, GLOB's own are literal."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)


def _as_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _seek_sql(
    source: Source, query: RowQuery, position: Sequence[Value], forward: bool, inclusive: bool
) -> tuple[str, list[Value]]:
    """The condition for rows at or past `position` in the direction of reading."""
    keys = source.key_exprs
    key_values = list(position[1:] if query.sort_column else position)
    ascending = forward != query.descending
    op = (">" if ascending else "<") + ("=" if inclusive else "")
    key_tuple = f"({', '.join(keys)}) {op} ({', '.join('?' for _ in keys)})"
    if query.sort_column is None:
        return key_tuple, key_values
    sort = quote(query.sort_column)
    value = position[0]
    full = f"({sort}, {', '.join(keys)}) {op} (?, {', '.join('?' for _ in keys)})"
    if value is None:
        # NULLs come first ascending: after a NULL come the other NULLs then every value.
        if ascending:
            return f"(({sort} IS NULL AND {key_tuple}) OR {sort} IS NOT NULL)", key_values
        return f"({sort} IS NULL AND {key_tuple})", key_values
    if ascending:
        return full, [value, *key_values]
    return f"({full} OR {sort} IS NULL)", [value, *key_values]


def order_sql(source: Source, query: RowQuery, forward: bool) -> str:
    direction = "ASC" if forward != query.descending else "DESC"
    terms = [] if query.sort_column is None else [quote(query.sort_column)]
    if not source.by_offset:
        terms += source.key_exprs
    return ", ".join(f"{t} {direction}" for t in terms)


def _cell_exprs(columns: Sequence[str], cell_limit: int | None) -> list[str]:
    """Cell expressions, cut at `cell_limit` characters or bytes (None: whole values)."""
    if cell_limit is None:
        return [quote(c) for c in columns]
    return [
        f"CASE WHEN length({quote(c)}) > {cell_limit} "
        f"THEN substr({quote(c)}, 1, {cell_limit}) ELSE {quote(c)} END"
        for c in columns
    ]


def _size_exprs(columns: Sequence[str], cell_limit: int) -> list[str]:
    """Expressions listing `index:length` of each cell longer than `cell_limit`."""
    sizes = []
    for start in range(0, len(columns), SIZE_GROUP):
        group = columns[start : start + SIZE_GROUP]
        parts = [
            f"CASE WHEN length({quote(c)}) > {cell_limit} "
            f"THEN '{start + i}:' || length({quote(c)}) || ' ' ELSE '' END"
            for i, c in enumerate(group)
        ]
        sizes.append(" || ".join(parts))
    return sizes


def _anchor_exprs(columns: Sequence[str]) -> list[str]:
    """Cheap expressions that use every column, one per `SIZE_GROUP` (as many as sizes)."""
    return [
        f"coalesce({', '.join(quote(c) for c in columns[start : start + SIZE_GROUP])}, 0) IS NULL"
        for start in range(0, len(columns), SIZE_GROUP)
    ]


def _page_selects(
    prefix: list[str], columns: Sequence[str], cell_limit: int | None
) -> tuple[list[str], int]:
    """The select lists that read a page, and how many size expressions end each one.

    One list when the key, the cells and their sizes fit in `RESULT_COLUMNS`. Otherwise the
    cells are split across lists, each with the key, and ending in the sizes (the first)
    or in expressions that use every other column (the rest): all the statements then use
    the same columns, so SQLite plans them alike and reads a view's rows (which have no
    key to match them by) in the same order.
    """
    cells = _cell_exprs(columns, cell_limit)
    sizes = [] if cell_limit is None else _size_exprs(columns, cell_limit)
    if len(prefix) + len(cells) + len(sizes) <= RESULT_COLUMNS:
        return [", ".join(prefix + cells + sizes)], len(sizes)
    anchors = _anchor_exprs(columns)
    room = max(1, RESULT_COLUMNS - len(prefix) - len(anchors))
    selects = [
        ", ".join(
            prefix + cells[start : start + room] + (sizes if start == 0 and sizes else anchors)
        )
        for start in range(0, len(cells), room)
    ]
    return selects, len(anchors)


async def _read_together(
    conn: AsyncConnection, statements: Sequence[str], params: Sequence[Value]
) -> list[list[driver.Row]]:
    """Run each statement with `params`; several run in one read transaction (one snapshot).

    A write committed by another process between two statements of one wide page would
    otherwise mix rows, or old and new values of one row.
    """
    if len(statements) == 1:
        return [await _fetchall(conn, statements[0], params)]
    if conn.in_transaction:
        # Left open by an end that failed (see `_end_read`): its snapshot is old.
        await fetch_all(conn, "ROLLBACK")
    await fetch_all(conn, "BEGIN")
    try:
        return [await _fetchall(conn, sql, params) for sql in statements]
    except asyncio.CancelledError:
        # Stop the statement still running on the connection's thread now: ending the
        # transaction below waits for it.
        await conn.interrupt()
        raise
    finally:
        await asyncio.shield(_end_read(conn))


async def _end_read(conn: AsyncConnection) -> None:
    try:
        await fetch_all(conn, "COMMIT")
    except ValueError:
        return  # aiosqlite's "no active connection": closed meanwhile, transaction and all
    except driver.Error:
        # An interrupt meant for the statement before may land on the COMMIT.
        with contextlib.suppress(driver.Error, ValueError):
            await fetch_all(conn, "ROLLBACK")


def _joined(
    parts: list[list[driver.Row]], width: int, tail: int, *, keyed: bool
) -> list[Sequence[Any]]:
    """The rows of a page read in parts: key, every part's cells in order, first part's tail."""
    first: list[Sequence[Any]] = list(parts[0])
    if len(parts) == 1:
        return first
    for part in parts[1:]:
        if len(part) != len(first) or (
            keyed and any(a[:width] != b[:width] for a, b in zip(first, part, strict=True))
        ):
            raise driver.OperationalError("the rows changed while they were read")
    rows: list[Sequence[Any]] = []
    for index, head in enumerate(first):
        cells = [v for part in parts for v in part[index][width : len(part[index]) - tail]]
        rows.append((*head[:width], *cells, *head[len(head) - tail :]))
    return rows


def _parse_sizes(parts: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    found = []
    for part in parts:
        for item in str(part or "").split():
            index, _, size = item.partition(":")
            found.append((int(index), int(size)))
    return tuple(found)


async def _fetchall(conn: AsyncConnection, sql: str, params: Sequence[Value]) -> list[driver.Row]:
    rows: list[driver.Row] = await fetch_all(conn, sql, params)
    return rows


async def fetch_page(
    conn: AsyncConnection,
    source: Source,
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
        source: The table or view and its key.
        query: Filter and sort.
        after: Rows strictly after this position (sort value then key, as in `keys`).
        before: The last `limit` rows strictly before this position; `()` for the last rows.
        at: Rows from this position on, inclusive.
        offset: Rows from this many rows in (a scan: slow on big tables).
        limit: How many rows at most.
        cell_limit: Cut text and BLOB cells longer than this; None for whole values.

    Returns:
        The rows in browsing order with their positions and the sizes of cut cells.
    """
    if source.by_offset:
        offset, limit = await offset_window(
            after, before, at, offset, limit, partial(count_rows, conn, source, query)
        )
        after = before = at = None
    where, params = filter_sql(query)
    conditions = [where] if where else []
    forward = before is None
    position = after if after is not None else at if at is not None else before or None
    if position is not None and not source.by_offset:
        seek, seek_params = _seek_sql(source, query, position, forward, at is not None)
        conditions.append(seek)
        params += seek_params
    sort_prefix = [quote(query.sort_column)] if query.sort_column else []
    key_prefix = [] if source.by_offset else source.key_exprs
    prefix = sort_prefix + key_prefix
    order = order_sql(source, query, forward)
    tail = f" FROM {quote(source.table)}"
    if conditions:
        tail += " WHERE " + " AND ".join(conditions)
    if order:
        tail += f" ORDER BY {order}"
    tail += " LIMIT ?"
    params.append(limit)
    if offset is not None:
        tail += " OFFSET ?"
        params.append(offset)
    selects, nsizes = _page_selects(prefix, source.columns, cell_limit)
    parts = await _read_together(conn, [f"SELECT {s}{tail}" for s in selects], params)
    rows = _joined(parts, len(prefix), nsizes, keyed=not source.by_offset)
    if not forward:
        rows.reverse()
    width, ncells = len(prefix), len(source.columns)
    if source.by_offset:
        keys = tuple((offset or 0) + i for i in range(len(rows)))
        page_keys = tuple(
            (*tuple(r[: len(sort_prefix)]), k) for r, k in zip(rows, keys, strict=True)
        )
    else:
        page_keys = tuple(tuple(r[:width]) for r in rows)
    return RowPage(
        columns=source.columns,
        rows=tuple(tuple(r[width : width + ncells]) for r in rows),
        keys=page_keys,
        key_columns=(*([query.sort_column] if query.sort_column else []), *source.keys),
        truncated=(
            tuple(_parse_sizes(r[width + ncells :]) for r in rows) if cell_limit is not None else ()
        ),
    )


async def count_rows(conn: AsyncConnection, source: Source, query: RowQuery) -> int:
    """Count the rows the query selects, in one statement."""
    where, params = filter_sql(query)
    sql = f"SELECT count(*) FROM {quote(source.table)}" + (f" WHERE {where}" if where else "")
    rows = await _fetchall(conn, sql, params)
    return int(rows[0][0])


async def count_rows_stepwise(
    conn: AsyncConnection, source: Source, query: RowQuery
) -> AsyncIterator[tuple[int, float]]:
    """Count rows in rowid ranges, yielding `(rows so far, fraction done)` after each.

    An unfiltered table, a table without a rowid and a view are counted in one statement
    (one yield at the end): SQLite counts a whole table from its smallest b-tree quickly.
    """
    if source.keys != ("rowid",) or not query.filters:
        yield await count_rows(conn, source, query), 1.0
        return
    table = quote(source.table)
    bounds = await rowid_bounds(conn, source)
    if bounds is None:
        yield 0, 1.0
        return
    low, high = bounds
    where, params = filter_sql(query)
    extra = f" AND {where}" if where else ""
    sql = f"SELECT count(*) FROM {table} WHERE rowid >= ? AND rowid <= ?{extra}"
    step = max(1, (high - low + 1) // COUNT_CHUNKS + 1)
    total, start = 0, low
    while start <= high:
        end = min(high, start + step - 1)
        rows = await _fetchall(conn, sql, [start, end, *params])
        total += int(rows[0][0])
        start = end + 1
        yield total, (end - low + 1) / (high - low + 1)


async def rowid_bounds(conn: AsyncConnection, source: Source) -> tuple[int, int] | None:
    """The lowest and highest rowid, or None when the table is empty."""
    table = quote(source.table)
    # Two subqueries: SQLite seeks for a lone min() or max(), but scans for both at once.
    sql = f"SELECT (SELECT min(rowid) FROM {table}), (SELECT max(rowid) FROM {table})"
    rows = await _fetchall(conn, sql, [])
    low, high = rows[0]
    return None if low is None else (int(low), int(high))


async def rows_before(
    conn: AsyncConnection, source: Source, query: RowQuery, position: Sequence[Value]
) -> int:
    """How many rows come before `position` in browsing order (a scan on big tables)."""
    if source.by_offset:
        return int(position[-1] or 0)
    where, params = filter_sql(query)
    seek, seek_params = _seek_sql(source, query, position, False, False)
    conditions = [c for c in (where, seek) if c]
    sql = f"SELECT count(*) FROM {quote(source.table)} WHERE " + " AND ".join(conditions)
    rows = await _fetchall(conn, sql, [*params, *seek_params])
    return int(rows[0][0])


async def find_key(
    conn: AsyncConnection, source: Source, match: dict[str, Value]
) -> tuple[Value, ...] | None:
    """The key of the first row whose columns equal `match` (a foreign key's target)."""
    if source.by_offset:
        return None
    conditions = " AND ".join(f"{quote(c)} = ?" for c in match)
    sql = (
        f"SELECT {', '.join(source.key_exprs)} FROM {quote(source.table)} "
        f"WHERE {conditions} LIMIT 1"
    )
    rows = await _fetchall(conn, sql, list(match.values()))
    return tuple(rows[0]) if rows else None


async def fetch_cell(
    conn: AsyncConnection,
    source: Source,
    query: RowQuery,
    position: Sequence[Value],
    column: str,
    limit: int,
) -> CellValue | None:
    """One cell of the row at `position`, cut to `limit` characters or bytes."""
    col = quote(column)
    cell = f"CASE WHEN length({col}) > {limit} THEN substr({col}, 1, {limit}) ELSE {col} END"
    select = f"{cell}, CASE WHEN typeof({col}) IN ('text', 'blob') THEN length({col}) ELSE 0 END"
    select += f", typeof({col})"
    where, params = filter_sql(query)
    table = quote(source.table)
    if source.by_offset:
        # Use every column, as a page does, so SQLite plans this alike and the row at this
        # offset is the one the page showed (a join view's order follows its plan).
        select += ", " + ", ".join(_anchor_exprs(source.columns))
        order = order_sql(source, query, True)
        sql = f"SELECT {select} FROM {table}" + (f" WHERE {where}" if where else "")
        sql += (f" ORDER BY {order}" if order else "") + " LIMIT 1 OFFSET ?"
        params.append(int(position[-1] or 0))
    else:
        keys = list(position[1:] if query.sort_column else position)
        match = " AND ".join(f"{k} = ?" for k in source.key_exprs)
        sql = f"SELECT {select} FROM {table} WHERE {match}"
        params = keys
    rows = await _fetchall(conn, sql, params)
    if not rows:
        return None
    value, size, kind = rows[0][:3]
    return CellValue(value=value, size=int(size or 0), type=str(kind))


async def object_error(conn: AsyncConnection, table: str) -> driver.Error | None:
    """SQLite's own error for reading `table` at all (None when it reads).

    A view calling a missing function or over a dropped table, or a virtual table whose
    module is missing, fails whatever reads it; this names that failure, not the reader's.
    """
    try:
        await _fetchall(conn, f"SELECT * FROM {quote(table)} LIMIT 0", [])
    except driver.Error as error:
        return error
    return None


async def blaming_object(conn: AsyncConnection, table: str, work: Awaitable[T]) -> T:
    """Await a read of `table`; a failure of the object itself is reported as its own error.

    SQLite's generic error (a missing function, table, column or module; a syntax error)
    from a statement built here is replaced by the error that reading the object alone
    gives, so the user sees what is wrong with the table or view.
    """
    try:
        return await work
    except driver.Error as error:
        if driver.primary_code(error) != SQLITE_ERROR:
            raise
        own = await object_error(conn, table)
        if own is None:
            raise
        raise own from None


async def star_columns(conn: AsyncConnection, table: str) -> tuple[str, ...]:
    """The columns `SELECT *` gives, read without stepping (raises the object's own error)."""
    # LIMIT 0: the statement is done at its first step, never left active.
    async with conn.execute(f"SELECT * FROM {quote(table)} LIMIT 0") as cursor:
        return tuple(d[0] for d in cursor.description)


class RowBrowsing:
    """The browsing half of `SqliteBackend`: pages, counts and cells for the Data view.

    Mixed into the backend, whose connection, error translation and schema it uses.
    """

    sql_dialect: SqlDialect = "sqlite"
    _conn: AsyncConnection

    async def schema(self, *, refresh: bool = False) -> Any:  # provided by the backend
        raise NotImplementedError

    async def key_columns(self, table: str) -> tuple[str, ...]:  # provided by the backend
        raise NotImplementedError

    async def _guarded(self, coro: Any, sql: str = "") -> Any:  # provided by the backend
        raise NotImplementedError

    async def _read(self, source: Source, work: Awaitable[T]) -> T:
        """Await a read of `source`, failures translated and blamed on the object if it fails."""
        result: T = await self._guarded(blaming_object(self._conn, source.table, work))
        return result

    async def browse_source(self, table: TableRef) -> Source:
        """The table or view `table` with its paging key and visible columns.

        Raises:
            QueryError: There is no such table or view.
        """
        table = table_name(table)
        keys = await self.key_columns(table)
        obj = (await self.schema()).get(table)
        # pragma_table_xinfo lists hidden columns of virtual tables, which `*` leaves out.
        columns = tuple(c.name for c in obj.columns if c.hidden in (0, 2, 3)) if obj else ()
        if not columns:
            # The schema could not list them (a broken view): SQLite's own error says why.
            columns = await self._guarded(star_columns(self._conn, table))
        return Source(table=table, keys=keys, columns=columns)

    async def fetch_page(
        self,
        table: TableRef,
        query: RowQuery,
        *,
        after: Sequence[Value] | None = None,
        before: Sequence[Value] | None = None,
        at: Sequence[Value] | None = None,
        offset: int | None = None,
        limit: int = 100,
        cell_limit: int | None = None,
    ) -> RowPage:
        """One page of rows in browsing order (see `sqlite_rows.fetch_page`)."""
        source = await self.browse_source(table)
        page: RowPage = await self._read(
            source,
            fetch_page(
                self._conn, source, query, after=after, before=before, at=at,
                offset=offset, limit=limit, cell_limit=cell_limit,
            ),
        )  # fmt: skip
        return page

    async def count_stepwise(
        self, table: TableRef, query: RowQuery
    ) -> AsyncIterator[tuple[int, float]]:
        """Count the rows of a query in steps: `(rows so far, fraction done)`."""
        source = await self.browse_source(table)
        steps = count_rows_stepwise(self._conn, source, query)
        while True:
            try:
                step = await self._read(source, anext(steps))
            except StopAsyncIteration:
                return
            yield step

    async def rowid_bounds(self, table: TableRef) -> tuple[int, int] | None:
        """The lowest and highest rowid of a rowid table, None when it is empty."""
        source = await self.browse_source(table)
        bounds: tuple[int, int] | None = await self._read(source, rowid_bounds(self._conn, source))
        return bounds

    async def rows_before(self, table: TableRef, query: RowQuery, position: Sequence[Value]) -> int:
        """How many rows precede `position` in browsing order."""
        source = await self.browse_source(table)
        return int(await self._read(source, rows_before(self._conn, source, query, position)))

    async def find_key(self, table: TableRef, match: dict[str, Value]) -> tuple[Value, ...] | None:
        """The key of the first row of `table` whose columns equal `match`."""
        source = await self.browse_source(table)
        key: tuple[Value, ...] | None = await self._read(
            source, find_key(self._conn, source, match)
        )
        return key

    async def fetch_cell(
        self, table: TableRef, query: RowQuery, position: Sequence[Value], column: str, limit: int
    ) -> CellValue | None:
        """One cell of the row at `position`, cut to `limit` characters or bytes."""
        source = await self.browse_source(table)
        cell: CellValue | None = await self._read(
            source, fetch_cell(self._conn, source, query, position, column, limit)
        )
        return cell
