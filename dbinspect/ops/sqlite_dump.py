"""Provides a SQLite database as a stream of SQL statements: the plan both `sql` and
`json` backups follow, and restore replays.

What `sqlite3 .dump` and Python's `iterdump` leave out is kept: `user_version`,
`application_id` and a non-UTF-8 encoding; FTS5 tables are dumped as their content (the
shadow tables are rebuilt by inserting it), an external-content FTS5 table as a
`'rebuild'` once its content table is loaded. Generated columns are not inserted (SQLite
computes them). A rowid table without an INTEGER PRIMARY KEY keeps its rowids.
Values are written by the exporter's encoder (`export.encode`), whatever SQLite stores:
NaN is already NULL in the database and -0.0 reads back as 0.0, so the dump holds
what SQLite holds. Statements come in an order `sqlite3 new.db < dump.sql` can run:
tables and their rows, `sqlite_sequence`, `sqlite_stat1`, virtual tables, then indexes,
triggers and views (created after the rows, so no trigger fires while loading).
`sqlite_stat4`, the query planner's samples, is left out: only SQLite builds with STAT4
have it (the `sqlite3` shell here does not), and `ANALYZE` makes it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from dbinspect import sqlite_driver as driver
from dbinspect.export.batch import sql_inserts
from dbinspect.export.encode import sql_identifier, sql_insert_prefix, sql_literal
from dbinspect.models import Value

BATCH_ROWS = 1000
"""Rows read and encoded at a time: memory stays flat on any size of table."""

Rows = Sequence[Sequence[Value]]

_FTS5 = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE\s.*?\bUSING\s+fts5\s*\(", re.I | re.S)
_CONTENT = re.compile(r"[(,]\s*content\s*=\s*('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[^\s,)]+)", re.I)


@dataclass(frozen=True, slots=True)
class SchemaEntry:
    """One row of `sqlite_schema` with SQL to run (autoindexes have none)."""

    type: str
    name: str
    tbl_name: str
    sql: str


@dataclass(frozen=True, slots=True)
class TableData:
    """The rows of one table to dump: which columns are inserted, how they are loaded."""

    name: str
    columns: tuple[str, ...]
    """The columns given in each INSERT: `rowid` first where kept, generated ones left out."""
    load: str
    """`rows` (INSERTs), `rebuild` (external-content FTS5) or `none` (contentless FTS5)."""


@dataclass(frozen=True, slots=True)
class Pragmas:
    """The database header values a dump keeps."""

    user_version: int
    application_id: int
    encoding: str


def read_pragmas(conn: driver.Connection) -> Pragmas:
    def one(name: str) -> Value:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]  # type: ignore[no-any-return]

    return Pragmas(
        int(one("user_version") or 0), int(one("application_id") or 0), str(one("encoding"))
    )


def read_entries(conn: driver.Connection) -> list[SchemaEntry]:
    """Every object a dump creates, in `sqlite_schema`'s order; internal tables and the
    shadow tables of virtual tables are not among them."""
    shadows = {str(row[1]) for row in conn.execute("PRAGMA main.table_list") if row[2] == "shadow"}
    return [
        SchemaEntry(str(kind), str(name), str(table), str(sql))
        for kind, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE sql IS NOT NULL"
            " ORDER BY rowid"
        )
        if not str(name).startswith("sqlite_") and name not in shadows
    ]


def read_tables(conn: driver.Connection, entries: Sequence[SchemaEntry]) -> list[TableData]:
    """The tables whose rows a dump holds, in the order they are loaded."""
    tables = [e for e in entries if e.type == "table"]
    plain = [e for e in tables if not _is_virtual(e)]
    virtual = [e for e in tables if _is_virtual(e)]
    found: list[TableData] = [_table_data(conn, e) for e in plain]
    for internal in ("sqlite_sequence", "sqlite_stat1"):
        if conn.execute("SELECT 1 FROM sqlite_schema WHERE name = ?", (internal,)).fetchone():
            found.append(TableData(internal, _visible_columns(conn, internal), "rows"))
    found += [_table_data(conn, e) for e in virtual]
    return found


def _is_virtual(entry: SchemaEntry) -> bool:
    return re.match(r"\s*CREATE\s+VIRTUAL\s", entry.sql, re.I) is not None


def fts5_load(sql: str) -> str:
    """How an FTS5 table's rows are restored: `rows`, `rebuild` from its external content
    table, or `none` when contentless (its text was never stored: only its index)."""
    if not _FTS5.match(sql):
        return "rows"
    found = _CONTENT.search(sql)
    if found is None:
        return "rows"
    value = found.group(1).strip("'\"")
    return "rebuild" if value else "none"


def _table_data(conn: driver.Connection, entry: SchemaEntry) -> TableData:
    columns = _visible_columns(conn, entry.name)
    if _is_virtual(entry):
        load = fts5_load(entry.sql)
        rowid = ("rowid",) if _FTS5.match(entry.sql) else ()
        return TableData(entry.name, (*rowid, *columns), load)
    return TableData(entry.name, (*_kept_rowid(conn, entry.name, columns), *columns), "rows")


def _visible_columns(conn: driver.Connection, table: str) -> tuple[str, ...]:
    """The columns an INSERT gives: not generated (hidden 2, 3) nor a virtual table's
    hidden ones (1)."""
    return tuple(
        str(row[1])
        for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table,))
        if row[6] == 0
    )


def _kept_rowid(conn: driver.Connection, table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """`("rowid",)` (or `_rowid_`, `oid`: one no column shadows) for a rowid table whose
    rowid is no column of its own; else nothing."""
    listed = conn.execute("SELECT wr FROM pragma_table_list(?)", (table,)).fetchone()
    if listed is None or listed[0]:  # WITHOUT ROWID
        return ()
    info = conn.execute("SELECT type, pk FROM pragma_table_info(?)", (table,)).fetchall()
    keys = [str(kind) for kind, pk in info if pk]
    pk_index = conn.execute(
        "SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'", (table,)
    ).fetchone()
    if len(keys) == 1 and keys[0].upper() == "INTEGER" and pk_index is None:
        return ()  # an INTEGER PRIMARY KEY is the rowid (not with DESC: that has an index)
    lowered = {c.lower() for c in columns}
    return next(((n,) for n in ("rowid", "_rowid_", "oid") if n not in lowered), ())


def read_rows(
    conn: driver.Connection, table: TableData, rowids: tuple[str, int, int] | None = None
) -> Iterator[Rows]:
    """The table's rows, `BATCH_ROWS` at a time, in the one read transaction the caller
    holds; with `rowids` (the rowid's name, first, last) only those, in rowid order.
    Text that is not UTF-8 fails the strict (fast, C) read: the table is read
    again leniently (as lone surrogates, which the encoder writes back as the bytes),
    skipping the rows already passed on: the same statement in the same snapshot returns
    them in the same order."""
    sql = (
        f"SELECT {', '.join(map(sql_identifier, table.columns))} FROM {sql_identifier(table.name)}"
    )
    params: tuple[int, ...] = ()
    if rowids is not None:
        name, first, last = rowids
        sql += f" WHERE {name} BETWEEN ? AND ? ORDER BY {name}"
        params = (first, last)
    done = 0
    cursor = conn.execute(sql, params)
    try:
        while batch := cursor.fetchmany(BATCH_ROWS):
            done += len(batch)
            yield batch
        return
    except driver.OperationalError as error:
        if "decode" not in str(error):
            raise
    finally:
        cursor.close()
    conn.text_factory = _lenient
    try:
        # Not the same text: the cached statement would resume where the failed one stood.
        cursor = conn.execute(sql + " ", params)
        skipped = 0
        while skipped < done:
            skipped += len(cursor.fetchmany(min(BATCH_ROWS, done - skipped)))
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield batch
    finally:
        conn.text_factory = str


def _lenient(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# The statements, shared by the SQL dump and the JSON restore -----------------------------


def prologue(pragmas: Pragmas) -> str:
    """What comes first: foreign keys off while loading, the encoding, the header values."""
    head = "PRAGMA foreign_keys=OFF;\n"
    if pragmas.encoding.upper() != "UTF-8":
        head += f"PRAGMA encoding={sql_literal(pragmas.encoding)};\n"
    return (
        head
        + "BEGIN TRANSACTION;\n"
        + f"PRAGMA user_version={pragmas.user_version};\n"
        + f"PRAGMA application_id={pragmas.application_id};\n"
    )


def table_head(table: TableData, entries_by_name: dict[str, SchemaEntry]) -> str:
    """What comes before a table's rows: its CREATE, or the clearing of an internal one."""
    if table.name == "sqlite_sequence":
        return "DELETE FROM sqlite_sequence;\n"  # filled again by the AUTOINCREMENT inserts
    if table.name == "sqlite_stat1":
        return "ANALYZE sqlite_schema;\n"  # creates sqlite_stat1, and nothing in it
    return entries_by_name[table.name].sql + ";\n"


def insert_prefix(table: TableData) -> str:
    return sql_insert_prefix(table.name, table.columns)


def table_rows(prefix: str, rows: Rows) -> str:
    return sql_inserts(prefix, rows)


def table_tail(table: TableData) -> str:
    """What comes after a table's rows: an external-content FTS5 table's rebuild."""
    if table.load == "rebuild":
        name = sql_identifier(table.name)
        return f"INSERT INTO {name}({name}) VALUES('rebuild');\n"
    return ""


def epilogue(entries: Iterable[SchemaEntry]) -> str:
    """Indexes, triggers and views, in their creation order, then the commit."""
    return "".join(e.sql + ";\n" for e in entries if e.type != "table") + "COMMIT;\n"
