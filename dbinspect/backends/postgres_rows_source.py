"""What the PostgreSQL row browser knows of a relation: its columns, paging key and storage.

One catalog query per relation reads it (the row browser does not wait for the whole
schema), and the browser keeps it for as long as its connection lives: the Data pane
opens a fresh connection after another session changes the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from dbinspect.browse.protocol import Relation
from dbinspect.errors import QueryError
from dbinspect.pg_driver import (
    FIRST_USER_OID,
    bound_identifier,
    session_path,
    sql,
    text_of,
)

if TYPE_CHECKING:
    from dbinspect.pg_driver import AsyncConnection

ColumnKind = Literal["int", "float", "bytea", "number", "string", "unordered", "other"]
"""How a column's values travel and compare.

`int` and `float` arrive as Python numbers and `bytea` as bytes; every other kind
arrives in PostgreSQL's own text form (exact numerics, timestamps in the session's time
zone, arrays as `{...}`, jsonb as the server writes it). `number` is numeric or money,
`string` a text type, `unordered` a type with no ordering (json, xml, geometry), which
is sorted and compared by its text.
"""

INT_TYPES = frozenset({20, 21, 23, 26})  # int8, int2, int4, oid
FLOAT_TYPES = frozenset({700, 701})  # float4, float8
BYTEA_TYPE = 17
NUMERIC_TYPE = 1700
BPCHAR_TYPE = 1042
UNORDERED_TYPES = frozenset(
    {
        28, 29,  # xid, cid
        114,  # json
        142,  # xml
        1790,  # refcursor
        3642,  # gtsvector
        600, 601, 602, 603, 604, 628, 718,  # point, lseg, path, box, polygon, line, circle
        1033,  # aclitem
        2970, 5038,  # txid_snapshot, pg_snapshot
        4072,  # jsonpath
    }
)  # fmt: skip
"""Built-in types without a btree ordering: PostgreSQL refuses to ORDER BY them."""

TID_RANGE_SCANS = 140_000
"""The server version from which `ctid >= '(b,0)'` reads only those blocks (TID Range
Scan); before it, paging and counting by block ranges would read the whole table."""

SOURCE_SQL = sql.SQL(
    """
SELECT c.oid::int8, n.nspname::text, c.relkind::text, c.reltuples::float8, c.relpages::int8,
       cols.names, cols.types, cols.bases, cols.elements, cols.categories, cols.lengths,
       ARRAY(
         SELECT a.attname::text
         FROM pg_catalog.pg_index i
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = c.oid AND i.indisprimary
         ORDER BY k.ord
       ),
       CASE WHEN c.relkind = 'p' THEN ARRAY(
         SELECT t.relid::oid::int8 FROM pg_catalog.pg_partition_tree(c.oid) AS t
         WHERE t.isleaf ORDER BY t.relid::oid
       ) END,
       CASE WHEN c.relkind = 'p' THEN NOT EXISTS (
         SELECT FROM pg_catalog.pg_partition_tree(c.oid) AS t
         JOIN pg_catalog.pg_class AS leaf ON leaf.oid = t.relid
         WHERE t.isleaf AND leaf.relkind <> 'r'
       ) END
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
  SELECT array_agg(a.attname::text ORDER BY a.attnum) AS names,
         array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) AS types,
         array_agg(b.oid::int8 ORDER BY a.attnum) AS bases,
         array_agg(
           CASE WHEN e.typtype = 'd' THEN e.typbasetype ELSE e.oid END::int8
           ORDER BY a.attnum
         ) AS elements,
         array_agg(b.typcategory::text ORDER BY a.attnum) AS categories,
         array_agg(b.typlen::int8 ORDER BY a.attnum) AS lengths
  FROM pg_catalog.pg_attribute AS a
  JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_type AS b
    ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
  LEFT JOIN pg_catalog.pg_type AS e ON e.oid = b.typelem AND b.typcategory = 'A'
  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
) AS cols
WHERE c.relname = %s AND n.nspname = coalesce(%s, pg_catalog.current_schema())
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""
)


@dataclass(frozen=True, slots=True)
class PgColumn:
    """One column of a browsed relation."""

    name: str
    type: str
    """The declared type as PostgreSQL writes it (`format_type`)."""
    kind: ColumnKind
    long: bool
    """Whether a value can be long (a varlena type): cut in the grid. Numbers are never
    cut, nor char(n), whose trailing blanks a cut (made on text) would drop."""
    own_type: bool = False
    """Whether its type (or its arrays' element type) is the database's own: its text is
    read through its output function, never a cast its owner may have made (`text_of`)."""

    def text_of(self, value: sql.Composable) -> sql.Composable:
        """`value` (of this column's type) as text, running none of the database's code."""
        return text_of(value, own_type=self.own_type)

    @property
    def ref(self) -> sql.Composable:
        """The column of the row being read (`r."name"`); qualified, so that an ORDER BY
        never takes it for a select-list alias of the same name."""
        return sql.SQL("r.{}").format(bound_identifier(self.name))

    @property
    def ordered(self) -> sql.Composable:
        """What the column sorts and compares by: its text where its type has no order."""
        if self.kind == "unordered":
            return self.text_of(self.ref)
        return self.ref

    @property
    def parameter(self) -> sql.Composable:
        """A parameter compared with `ordered`, typed as the column where the server could
        not tell: beside a composite type's value an untyped one is read as an anonymous
        record, which has no input ("input of anonymous composite types")."""
        if self.kind == "other":  # `format_type`'s text; a `%` in it is no placeholder
            return sql.SQL("%s::" + self.type.replace("%", "%%"))
        return sql.Placeholder()


@dataclass(frozen=True, slots=True)
class RowSource:
    """A table, partitioned table, view, materialized view or foreign table to browse."""

    oid: int
    schema: str
    name: str
    relkind: str
    """pg_class.relkind: r table, p partitioned table, v view, m materialized view,
    f foreign table."""
    columns: tuple[PgColumn, ...]
    keys: tuple[str, ...]
    """The primary key; `ctid` (with `tableoid` first on a partitioned table) where there
    is none; `offset` for views and foreign tables."""
    segments: tuple[int, ...]
    """The heap relations whose blocks hold the rows (the table itself, or the leaf
    partitions in oid order): paged and counted by block ranges. Empty when the rows
    are not in heap blocks here (views, foreign tables and partitions, old servers)."""
    reltuples: float
    relpages: int

    @property
    def by_offset(self) -> bool:
        """Whether rows are keyed by their position (no key to seek on)."""
        return self.keys == ("offset",)

    @property
    def by_ctid(self) -> bool:
        """Whether rows are keyed by where they are stored."""
        return bool(self.keys) and self.keys[-1] == "ctid"

    @property
    def relation(self) -> sql.Composable:
        """The relation as a FROM item aliased `r`. Plain tables are read ONLY: a legacy
        inheritance child's rows are its own table's (their ctids would collide)."""
        only = sql.SQL("ONLY ") if self.relkind in ("r", "m") else sql.SQL("")
        return sql.SQL("{}{} AS r").format(only, bound_identifier(self.schema, self.name))

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> PgColumn:
        """The column called `name`.

        Raises:
            QueryError: The relation has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise QueryError(f"{self.schema}.{self.name} has no column {name!r}")

    def key_ref(self, key: str) -> sql.Composable:
        """A paging key as SQL (system columns included), in its own type."""
        if key in ("ctid", "tableoid"):
            return sql.SQL("r.{}").format(sql.SQL(key))
        return self.column(key).ref


def column_kind(base: int, element: int | None, category: str) -> ColumnKind:
    """How values of a column whose (domain-resolved) type is `base` travel and compare."""
    if base in INT_TYPES:
        return "int"
    if base in FLOAT_TYPES:
        return "float"
    if base == BYTEA_TYPE:
        return "bytea"
    if base in UNORDERED_TYPES or (element is not None and element in UNORDERED_TYPES):
        return "unordered"
    if category == "N":
        return "number"
    if category == "S":
        return "string"
    return "other"


def _columns(row: tuple[Any, ...]) -> tuple[PgColumn, ...]:
    names, types, bases, elements, categories, lengths = (v or [] for v in row[5:11])
    return tuple(
        PgColumn(
            name=name,
            type=type_name,
            kind=column_kind(base, element, category),
            long=length < 0 and base not in (NUMERIC_TYPE, BPCHAR_TYPE),
            own_type=max(base, element or 0) >= FIRST_USER_OID,
        )
        for name, type_name, base, element, category, length in zip(
            names, types, bases, elements, categories, lengths, strict=True
        )
    )


def _keys_and_segments(
    relkind: str, oid: int, primary: list[str], leaves: list[int] | None, heap: bool | None,
    tid_ranges: bool,
) -> tuple[tuple[str, ...], tuple[int, ...]]:  # fmt: skip
    if relkind in ("r", "m"):
        segments: tuple[int, ...] = (oid,) if tid_ranges else ()
        # A materialized view keeps its rows in a heap like a table: paging by ctid seeks
        # as on a table (a unique index on a materialized view may hold NULLs, which a
        # row-value seek would skip).
        return (tuple(primary) if primary and relkind == "r" else ("ctid",)), segments
    if relkind == "p" and heap:
        segments = tuple(leaves or ()) if tid_ranges else ()
        return (tuple(primary) if primary else ("tableoid", "ctid")), segments
    if relkind == "p" and primary:
        return tuple(primary), ()
    return ("offset",), ()


async def load_source(conn: AsyncConnection, relation: Relation) -> RowSource:
    """Read what browsing `relation` needs, in one catalog query.

    Raises:
        QueryError: There is no such table or view.
    """
    schema = relation.schema
    path = session_path(conn)
    if schema is None and path is not None:  # the database's first schema, not the catalog
        schema = next((name for name in path.schemas if name != "pg_catalog"), "pg_catalog")
    cursor = await conn.execute(SOURCE_SQL, [relation.name, schema])
    row = await cursor.fetchone()
    if row is None:
        raise QueryError(f"no such table or view: {relation}")
    oid, schema, relkind, reltuples, relpages = row[:5]
    primary, leaves, heap = row[11:14]
    tid_ranges = conn.info.server_version >= TID_RANGE_SCANS
    keys, segments = _keys_and_segments(relkind, oid, primary, leaves, heap, tid_ranges)
    return RowSource(
        oid=oid,
        schema=schema,
        name=relation.name,
        relkind=relkind,
        columns=_columns(row),
        keys=keys,
        segments=segments,
        reltuples=float(reltuples),
        relpages=int(relpages),
    )


BLOCKS_SQL = sql.SQL(
    "SELECT pg_catalog.pg_relation_size(u.oid) / current_setting('block_size')::int8 "
    "FROM unnest(%s::oid[]) WITH ORDINALITY AS u(oid, n) ORDER BY u.n"
)


async def block_counts(conn: AsyncConnection, source: RowSource) -> list[int]:
    """How many blocks each segment has now (the file sizes: no rows are read)."""
    if not source.segments:
        return []
    cursor = await conn.execute(BLOCKS_SQL, [list(source.segments)])
    return [int(r[0]) for r in await cursor.fetchall()]
