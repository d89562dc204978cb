"""Reads a SQLite database's whole schema in a handful of queries.

Each detail (columns, foreign keys, indexes) comes from one join of `sqlite_schema`
with a pragma table-valued function, rather than one query per object, so a
2,000-table schema loads in tens of milliseconds. If the join fails (a view over a
dropped table, a virtual table whose module is missing), the objects are read one by
one so the broken one is reported and the rest still show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_query import fetch_all
from dbinspect.models import (
    ColumnInfo,
    ForeignKeyInfo,
    IndexInfo,
    ObjectKind,
    Schema,
    SchemaObject,
)

if TYPE_CHECKING:
    from dbinspect.sqlite_driver import AsyncConnection

_KIND_ORDER = {"table": 0, "virtual table": 1, "view": 2, "index": 3, "trigger": 4}
_INTERNAL_TABLES = ("sqlite_sequence",)

OBJECTS_SQL = """
SELECT type, name, tbl_name, sql FROM sqlite_schema
"""
# Read on its own: joined to sqlite_schema, SQLite re-evaluates it per row (quadratic).
TABLE_LIST_SQL = """
SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main'
"""
COLUMNS_SQL = """
SELECT s.name, c.name, c.type, c."notnull", c.dflt_value, c.pk, c.hidden
FROM sqlite_schema AS s JOIN pragma_table_xinfo(s.name) AS c
WHERE s.type IN ('table', 'view') {only}
ORDER BY s.name, c.cid
"""
FOREIGN_KEYS_SQL = """
SELECT s.name, f.id, f.seq, f."table", f."from", f."to", f.on_update, f.on_delete
FROM sqlite_schema AS s JOIN pragma_foreign_key_list(s.name) AS f
WHERE s.type = 'table' {only}
ORDER BY s.name, f.id, f.seq
"""
INDEXES_SQL = """
SELECT s.name, i.name, i."unique", i.origin, i.partial
FROM sqlite_schema AS s JOIN pragma_index_list(s.name) AS i
WHERE s.type = 'table' {only}
ORDER BY s.name, i.name
"""
INDEX_COLUMNS_SQL = """
SELECT i.name, c.cid, c.name
FROM (SELECT s.name AS table_name, l.name AS name
      FROM sqlite_schema AS s JOIN pragma_index_list(s.name) AS l
      WHERE s.type = 'table' {only}) AS i
JOIN pragma_index_xinfo(i.name) AS c
WHERE c.key = 1
ORDER BY i.name, c.seqno
"""


def is_internal(kind: str, name: str, pragma_type: str | None) -> bool:
    """Whether an object is SQLite's own rather than the user's."""
    lowered = name.lower()
    return (
        lowered.startswith("sqlite_autoindex_")
        or lowered.startswith("sqlite_stat")
        or lowered in _INTERNAL_TABLES
        or pragma_type == "shadow"
        or (kind == "table" and lowered.startswith("sqlite_"))
    )


def partial_where(sql: str | None) -> str | None:
    """The WHERE clause of a CREATE INDEX, found at the top level of the statement.

    Hand-written: no SQL parser in the standard library, and a WHERE inside a quoted
    identifier, a string or a comment must not count.
    """
    if not sql:
        return None
    depth, i, quote, upper = 0, 0, "", sql.upper()
    while i < len(sql):
        char = sql[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end + 1
            continue
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + 2
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif (
            depth == 0
            and upper.startswith("WHERE", i)
            and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_"))
            and (i + 5 >= len(sql) or not (sql[i + 5].isalnum() or sql[i + 5] == "_"))
        ):
            return sql[i + 5 :].strip().rstrip(";").strip() or None
        i += 1
    return None


async def _details(
    conn: AsyncConnection, only: str | None
) -> tuple[
    dict[str, list[ColumnInfo]], dict[str, list[ForeignKeyInfo]], dict[str, list[IndexInfo]]
]:
    """Columns, foreign keys and indexes of every object, or of the one named `only`."""
    clause, params = ("AND s.name = ?", (only,)) if only is not None else ("", ())
    columns: dict[str, list[ColumnInfo]] = defaultdict(list)
    for table, name, type_, notnull, default, pk, hidden in await fetch_all(
        conn, COLUMNS_SQL.format(only=clause), params
    ):
        columns[table].append(ColumnInfo(name, type_ or "", bool(notnull), default, pk, hidden))

    grouped: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for row in await fetch_all(conn, FOREIGN_KEYS_SQL.format(only=clause), params):
        grouped[(row[0], row[1])].append(row)
    foreign_keys: dict[str, list[ForeignKeyInfo]] = defaultdict(list)
    for (table, _), rows in grouped.items():
        first = rows[0]
        foreign_keys[table].append(
            ForeignKeyInfo(
                table=table,
                columns=tuple(r[4] for r in rows),
                ref_table=first[3],
                ref_columns=tuple(r[5] for r in rows),
                on_update=first[6],
                on_delete=first[7],
            )
        )

    index_columns: dict[str, list[str]] = defaultdict(list)
    for index, cid, name in await fetch_all(conn, INDEX_COLUMNS_SQL.format(only=clause), params):
        index_columns[index].append("<expr>" if cid == -2 else ("rowid" if cid == -1 else name))
    indexes: dict[str, list[IndexInfo]] = defaultdict(list)
    for table, name, unique, origin, partial in await fetch_all(
        conn, INDEXES_SQL.format(only=clause), params
    ):
        indexes[table].append(
            IndexInfo(name, table, bool(unique), origin, tuple(index_columns[name]), None)
            if not partial
            else IndexInfo(name, table, bool(unique), origin, tuple(index_columns[name]), "?")
        )
    return columns, foreign_keys, indexes


async def load_schema(conn: AsyncConnection, *, details: bool = True) -> Schema:
    """Read every object of the `main` database, with its details unless told not to.

    Without details (columns, keys, indexes) it is one cheap query: enough for a
    schema dump as SQL or a tree of names.
    """
    raw = await fetch_all(conn, OBJECTS_SQL)
    try:
        table_list = {row[0]: row[1:] for row in await fetch_all(conn, TABLE_LIST_SQL)}
    except driver.Error:
        # pragma_table_list parses every table; one with a missing module breaks it.
        table_list = {}
    sql_by_name = {row[1]: row[3] for row in raw}
    errors: dict[str, str] = {}
    try:
        columns, foreign_keys, indexes = await _details(conn, None) if details else ({}, {}, {})
    except driver.Error:
        columns, foreign_keys, indexes = defaultdict(list), defaultdict(list), defaultdict(list)
        for row in raw:
            if row[0] not in ("table", "view"):
                continue
            try:
                one = await _details(conn, row[1])
            except driver.Error as error:
                errors[row[1]] = str(error)
                continue
            for target, source in zip((columns, foreign_keys, indexes), one, strict=True):
                target.update(source)  # type: ignore[attr-defined]

    objects: list[SchemaObject] = []
    for type_, name, table, sql in raw:
        pragma_type, without_rowid, strict = table_list.get(name, (None, _without_rowid(sql), 0))
        kind: ObjectKind = type_
        if type_ == "table" and (pragma_type == "virtual" or _is_virtual_sql(sql)):
            kind = "virtual table"
        table_indexes = tuple(
            replace(ix, where=partial_where(sql_by_name.get(ix.name))) if ix.where else ix
            for ix in indexes.get(name, ())
        )
        objects.append(
            SchemaObject(
                kind=kind,
                name=name,
                table=table,
                sql=sql,
                internal=is_internal(type_, name, pragma_type),
                columns=tuple(columns.get(name, ())),
                foreign_keys=tuple(foreign_keys.get(name, ())),
                indexes=table_indexes,
                without_rowid=bool(without_rowid),
                strict=bool(strict),
                error=errors.get(name),
            )
        )
    objects.sort(key=_sort_key)
    return Schema(tuple(objects))


def outline_from_names(rows: Iterable[tuple[str, str, str]]) -> Schema:
    """A Schema of bare objects (no SQL, no details) from `(type, name, tbl_name)` rows."""
    objects = [
        SchemaObject(
            kind=cast(ObjectKind, kind),
            name=name,
            table=table,
            sql=None,
            internal=is_internal(kind, name, None),
        )
        for kind, name, table in rows
        if kind in _KIND_ORDER
    ]
    objects.sort(key=_sort_key)
    return Schema(tuple(objects))


def _sort_key(obj: SchemaObject) -> tuple[int, str, str]:
    return (_KIND_ORDER[obj.kind], obj.name.casefold(), obj.name)


def _without_rowid(sql: str | None) -> bool:
    return "WITHOUT ROWID" in " ".join((sql or "").upper().split())


def _is_virtual_sql(sql: str | None) -> bool:
    return bool(sql) and " ".join((sql or "").split()[:3]).upper() == "CREATE VIRTUAL TABLE"
