"""Writes PostgreSQL's browsing statements: filters, keyset seeks, orders and page selects.

Rows are ordered by `(sort column, key...)`. A page after or before a row is a row-value
comparison on that tuple, `(a, b) > (%s, %s)`, in the same direction as the ORDER BY, so
the server seeks with the key's index (and the column's collation) instead of skipping
rows. NULLs sort where PostgreSQL puts them by default, last ascending and first
descending, so that a plain index serves both directions; the seeks say so explicitly
because `NULL > x` is never true.

Every value is a bound parameter, and every identifier is quoted by psycopg, its `%`
doubled as in any statement with parameters (`bound_identifier`). Values go as text of
unknown type (numbers too), so the server reads each as the type of the column it meets:
a key read as text (a uuid, a timestamp, a real) seeks to exactly the row it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dbinspect.backends.postgres_rows_source import PgColumn, RowSource
from dbinspect.models import Filter, RowPage, RowQuery, Value
from dbinspect.pg_driver import sql

Composable = sql.Composable
Statement = sql.Composed | sql.SQL
"""A whole statement, as the driver runs it."""
Params = list[Value]

COMPARISONS = {"equals": "=", "not equals": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
"""The SQL operator of each comparing filter."""


def bind(value: Value) -> Value:
    """A value as a parameter: text of unknown type, which the server reads as the type
    of what it is compared with; bytes stay bytes (bytea)."""
    if value is None or isinstance(value, str | bytes):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(value)  # the shortest text that reads back as the same float


def _number(value: Value) -> int | float | None:
    if isinstance(value, bool) or value is None or isinstance(value, bytes):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return None


def _text(column: PgColumn) -> Composable:
    """The column's text form (text columns as they are, so their indexes serve)."""
    if column.kind == "string":
        return column.ref
    return column.text_of(column.ref)


def filter_sql(source: RowSource, query: RowQuery) -> tuple[list[Composable], Params]:
    """The conditions of the query's filters (all must hold), and their parameters."""
    conditions: list[Composable] = []
    params: Params = []
    for found in query.filters:
        condition, values = _one_filter(source.column(found.column), found)
        conditions.append(condition)
        params += values
    return conditions, params


def _one_filter(column: PgColumn, found: Filter) -> tuple[Composable, Params]:
    """One filter's condition (see `models.Filter`); the value stays a parameter."""
    value = found.value
    if found.operator == "is not null":
        return sql.SQL("{} IS NOT NULL").format(column.ref), []
    if found.operator == "is null" or value is None:
        return sql.SQL("{} IS NULL").format(column.ref), []
    if found.operator == "like":
        pattern = value.decode("utf-8", "replace") if isinstance(value, bytes) else bind(value)
        like = sql.SQL("LIKE" if found.case_sensitive else "ILIKE")
        # ESCAPE '': `%` and `_` are the only special characters, as in SQLite's LIKE.
        return sql.SQL("{} {} %s ESCAPE ''").format(_text(column), like), [pattern]
    op = sql.SQL(COMPARISONS[found.operator])
    if column.kind in ("int", "float", "number"):
        return _number_filter(column, found, op)
    if found.case_sensitive:
        return sql.SQL("{} {} {}").format(column.ordered, op, column.parameter), [bind(value)]
    if column.kind == "bytea":
        return sql.SQL("{} {} %s").format(column.ref, op), [bind(value)]
    # Letter case ignored: compare the text forms (a uuid typed in capitals, an enum).
    return sql.SQL("lower({}) {} lower(%s)").format(_text(column), op), [bind(value)]


def _number_filter(column: PgColumn, found: Filter, op: Composable) -> tuple[Composable, Params]:
    number = _number(found.value)
    if number is None and not found.case_sensitive:
        # A plain search for a word in a number column: no number equals it. (A typed
        # comparison would fail on the word; an ordering says why, below.)
        if found.operator == "equals":
            return sql.SQL("FALSE"), []
        if found.operator == "not equals":
            return sql.SQL("{} IS NOT NULL").format(column.ref), []
    if column.kind == "int" and isinstance(number, float):
        # 1.5 against an integer column: compare as numeric instead of failing to read it.
        return sql.SQL("{} {} %s::numeric").format(column.ref, op), [bind(found.value)]
    return sql.SQL("{} {} %s").format(column.ref, op), [bind(found.value)]


def _row(items: Sequence[Composable]) -> Composable:
    return sql.SQL("({})").format(sql.SQL(", ").join(items))


def _placeholders(count: int) -> Composable:
    return _row([sql.Placeholder()] * count)


def seek_sql(
    source: RowSource,
    query: RowQuery,
    position: Sequence[Value],
    *,
    forward: bool,
    inclusive: bool,
) -> tuple[Composable, Params]:
    """The condition for rows at or past `position` (sort value, then key) in the
    direction of reading.

    A position may name only the first columns of a composite key (a jump to about
    here knows only the first): the rows from the first one at or past them.
    """
    key_values = [bind(v) for v in (position[1:] if query.sort_column else position)]
    keys = [source.key_ref(k) for k in source.keys[: len(key_values)]]
    ascending = forward != query.descending
    op = sql.SQL((">" if ascending else "<") + ("=" if inclusive else ""))
    key_tuple = sql.SQL("{} {} {}").format(_row(keys), op, _placeholders(len(keys)))
    if query.sort_column is None:
        return key_tuple, key_values
    sort = source.column(query.sort_column).ordered
    value = position[0]
    if value is None:
        # NULLs come last ascending: after a NULL come only the other NULLs; reading
        # descending, the NULLs come first and every value after them.
        if ascending:
            return sql.SQL("({} IS NULL AND {})").format(sort, key_tuple), key_values
        return sql.SQL("(({} IS NULL AND {}) OR {} IS NOT NULL)").format(
            sort, key_tuple, sort
        ), key_values
    parameters = _row(
        [source.column(query.sort_column).parameter, *[sql.Placeholder()] * len(keys)]
    )
    full = sql.SQL("{} {} {}").format(_row([sort, *keys]), op, parameters)
    params = [bind(value), *key_values]
    if ascending:
        return sql.SQL("({} OR {} IS NULL)").format(full, sort), params
    return full, params


def order_sql(source: RowSource, query: RowQuery, *, forward: bool) -> Composable | None:
    """The ORDER BY terms for reading forward or backward (None: an unsorted view, read
    in the order its plan gives, as a big view's first rows must come without a sort)."""
    direction = sql.SQL("ASC" if forward != query.descending else "DESC")
    terms = [] if query.sort_column is None else [source.column(query.sort_column).ordered]
    if not source.by_offset:
        terms += [source.key_ref(k) for k in source.keys]
    elif terms:
        # A view has no key to break ties with: every other column does, so that pages
        # read at different offsets agree (a top-N sort keeps no order among equals).
        # Rows still equal then are alike in every cell: either order shows the same.
        terms += [c.ordered for c in source.columns if c.name != query.sort_column]
    if not terms:
        return None
    return sql.SQL(", ").join(sql.SQL("{} {}").format(t, direction) for t in terms)


@dataclass(frozen=True, slots=True)
class PageShape:
    """What a page statement selects, in order: sort value, keys, cells, cut sizes."""

    source: RowSource
    sort: PgColumn | None
    cell_limit: int | None

    @property
    def key_width(self) -> int:
        return (self.sort is not None) + (0 if self.source.by_offset else len(self.source.keys))

    @property
    def cut(self) -> tuple[int, ...]:
        """The columns whose cells are cut to `cell_limit` (and whose sizes are read)."""
        if self.cell_limit is None:
            return ()
        return tuple(i for i, c in enumerate(self.source.columns) if c.long)


def _out(kind: str, alias: Composable, column: PgColumn | None = None) -> Composable:
    """A value as it leaves the server: numbers, bytea and text types as they are (char(n)
    keeps its blanks), the rest as text (`PgColumn.text_of`: never the database's cast)."""
    if kind in ("int", "float", "bytea", "string"):
        return alias
    if column is not None:
        return column.text_of(alias)
    return sql.SQL("{}::text").format(alias)


def _key_column(source: RowSource, key: str) -> PgColumn | None:
    return None if key in ("tableoid", "ctid") else source.column(key)


def _key_kind(source: RowSource, key: str) -> str:
    if key == "tableoid":
        return "int"  # an oid, as psycopg reads it
    if key == "ctid":
        return "other"  # as text, '(block,item)'
    return source.column(key).kind


def _inner_sql(
    shape: PageShape,
    conditions: Sequence[Composable],
    order: Composable | None,
    *,
    offset: bool,
) -> sql.Composed:
    """The rows chosen, sorted and limited, as raw values: `s0` (the sort value), `k0`...
    (the key) and `c0`... (the columns)."""
    source = shape.source
    items: list[Composable] = []
    if shape.sort is not None:
        items.append(sql.SQL("{} AS s0").format(shape.sort.ordered))
    if not source.by_offset:
        for index, key in enumerate(source.keys):
            items.append(
                sql.SQL("{} AS {}").format(source.key_ref(key), sql.Identifier(f"k{index}"))
            )
    for index, column in enumerate(source.columns):
        items.append(sql.SQL("{} AS {}").format(column.ref, sql.Identifier(f"c{index}")))
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(items), source.relation)
    if conditions:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
    if order is not None:
        query += sql.SQL(" ORDER BY ") + order
    query += sql.SQL(" LIMIT %s")
    if offset:
        query += sql.SQL(" OFFSET %s")
    return query


def page_sql(
    shape: PageShape,
    conditions: Sequence[Composable],
    order: Composable | None,
    *,
    offset: bool,
) -> sql.Composed:
    """A page's statement; parameters: the conditions', then LIMIT (then OFFSET).

    The rows are chosen, sorted and limited in a subquery of raw values, and converted
    and cut only in the outer select: a sort over many rows then carries no text made
    for display, and only the page's own cells are cut and measured.
    """
    source = shape.source
    outer: list[Composable] = []
    if shape.sort is not None:
        outer.append(_out(shape.sort.kind, sql.SQL("s0"), shape.sort))
    if not source.by_offset:
        for index, key in enumerate(source.keys):
            alias = sql.Identifier(f"k{index}")
            outer.append(_out(_key_kind(source, key), alias, _key_column(source, key)))
    limit = shape.cell_limit
    for index, column in enumerate(source.columns):
        alias = sql.Identifier(f"c{index}")
        outer.append(_cell(column, alias, limit if column.long else None))
    if shape.cut:
        sizes = [_size(source.columns[i], sql.Identifier(f"c{i}")) for i in shape.cut]
        outer.append(sql.SQL("ARRAY[{}]::int8[]").format(sql.SQL(", ").join(sizes)))
    inner = _inner_sql(shape, conditions, order, offset=offset)
    # A projection of a limited subquery keeps its order (nothing above it reorders).
    return sql.SQL("SELECT {} FROM ({}) AS page").format(sql.SQL(", ").join(outer), inner)


def cell_sql(
    shape: PageShape,
    conditions: Sequence[Composable],
    order: Composable | None,
    *,
    offset: bool,
    index: int,
    limit: int,
) -> sql.Composed:
    """One cell of the first row a page statement would read: its value cut to `limit`,
    its full size (characters, bytes for bytea, 0 for numbers) and its type.

    The rows are chosen by the same subquery as a page's, so that a view (read by
    offset) is planned alike and the row at an offset is the one its page showed.
    """
    column = shape.source.columns[index]
    alias = sql.Identifier(f"c{index}")
    size = sql.SQL("0") if column.kind in ("int", "float") else _size(column, alias)
    outer = sql.SQL("{}, {}, pg_catalog.pg_typeof({})::text").format(
        _cell(column, alias, limit if column.long else None), size, alias
    )
    inner = _inner_sql(shape, conditions, order, offset=offset)
    return sql.SQL("SELECT {} FROM ({}) AS page").format(outer, inner)


def _cell(column: PgColumn, alias: Composable, limit: int | None) -> Composable:
    """A cell for the grid: cut to `limit` characters (bytes for bytea) when given."""
    if limit is None:
        return _out(column.kind, alias, column)
    if column.kind == "bytea":
        return sql.SQL("substr({}, 1, {})").format(alias, sql.Literal(limit))
    return sql.SQL("left({}, {})").format(column.text_of(alias), sql.Literal(limit))


def _size(column: PgColumn, alias: Composable) -> Composable:
    if column.kind == "bytea":
        return sql.SQL("octet_length({})").format(alias)
    return sql.SQL("length({})").format(column.text_of(alias))


def to_page(
    shape: PageShape,
    rows: Sequence[Sequence[Any]],
    *,
    first_offset: int = 0,
) -> RowPage:
    """Rows of a page statement (in browsing order) as a `RowPage`.

    Args:
        shape: What the statement selected.
        rows: Its rows, in browsing order.
        first_offset: The offset of the first row (keys of views).
    """
    source = shape.source
    width = shape.key_width
    ncells = len(source.columns)
    if source.by_offset:
        sorted_ = shape.sort is not None
        keys = tuple((*((r[0],) if sorted_ else ()), first_offset + i) for i, r in enumerate(rows))
    else:
        keys = tuple(tuple(r[:width]) for r in rows)
    truncated: tuple[tuple[tuple[int, int], ...], ...] = ()
    if shape.cell_limit is not None:
        limit = shape.cell_limit
        sizes = (r[width + ncells] if shape.cut else () for r in rows)
        truncated = tuple(
            tuple(
                (index, int(size))
                for index, size in zip(shape.cut, row_sizes, strict=True)
                if size is not None and size > limit
            )
            for row_sizes in sizes
        )
    sort_name = () if shape.sort is None else (shape.sort.name,)
    return RowPage(
        columns=source.column_names,
        rows=tuple(tuple(r[width : width + ncells]) for r in rows),
        keys=keys,
        key_columns=(*sort_name, *source.keys),
        truncated=truncated,
    )
