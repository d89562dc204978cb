"""Reads other tools' tracking tables on a read-only connection (SQLite or PostgreSQL).

The connection is the one the migration engine opens to read `_sqlx_migrations`: on
SQLite a read-only open that creates nothing beside the file, on PostgreSQL an inspection
session (`default_transaction_read_only`, statement and lock timeouts). Nothing here
writes: every statement is a SELECT on the catalog or on a tracking table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dbinspect.errors import MigrationError
from dbinspect.url import DatabaseUrl


class Reader(Protocol):
    """Runs one fixed SELECT and returns its rows."""

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of `sql`, whose table names come from `Table.ref`."""
        ...


@dataclass(frozen=True, slots=True)
class Table:
    """A table found in the catalog, with its column names."""

    schema: str | None
    name: str
    columns: frozenset[str]

    @property
    def ref(self) -> str:
        """The table as SQL: quoted, and schema-qualified on PostgreSQL."""
        quoted = _quote(self.name)
        return f"{_quote(self.schema)}.{quoted}" if self.schema else quoted

    @property
    def label(self) -> str:
        """The name shown: `schema.name` outside PostgreSQL's `public` schema."""
        if self.schema and self.schema != "public":
            return f"{self.schema}.{self.name}"
        return self.name


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


SQLITE_TABLES = (
    "SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type = 'table' AND m.name IN ({marks}) ORDER BY m.name, p.cid"
)
# The schemas on the search path, in its order: the one a tool's unqualified name reaches.
POSTGRES_TABLES = (
    "SELECT n.nspname, c.relname, a.attname FROM pg_catalog.pg_class AS c "
    "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
    "JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 "
    "AND NOT a.attisdropped "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false)) "
    "AND c.relname = ANY (%s) "
    "ORDER BY array_position(current_schemas(false), n.nspname), c.relname, a.attnum"
)


class Connection:
    """One read-only connection to the database, closed by `close`."""

    def __init__(self, url: DatabaseUrl) -> None:
        self.url = url
        self.postgres = url.backend == "postgres"
        if self.postgres:
            from dbinspect.migrate.pg_store import PgStore

            self._store: Any = PgStore.open(url, "_sqlx_migrations")
        else:
            from dbinspect.migrate.sqlite_store import SqliteStore

            ro = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
            self._store = SqliteStore.open(ro, "_sqlx_migrations")

    def close(self) -> None:
        """Close the connection without changing the database."""
        self._store.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            from dbinspect import pg_driver as pg

            try:
                return list(self._store.conn.execute(sql.encode(), params or None).fetchall())
            except pg.Error as error:
                raise MigrationError(
                    f"cannot read {self.url.masked}: {_first_line(error)}"
                ) from error
        from dbinspect import sqlite_driver as sq
        from dbinspect.backends.sqlite_errors import translate_error

        try:
            return list(self._store.conn.execute(sql, tuple(params)).fetchall())
        except sq.Error as error:
            # The inspection's own words for it (a journal left by a killed writer, a
            # lock, a corrupt file), as `info` and `migrate info` say them elsewhere.
            translated = translate_error(error, self.url.path or ":memory:")
            raise MigrationError(translated.message, translated.hint) from error

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a fixed SELECT on a tracking table."""
        return self._execute(sql)

    def tables(self, names: Sequence[str]) -> dict[str, Table]:
        """The tables of `names` that exist, with their columns (the first on the path)."""
        found: dict[str, dict[str, Any]] = {}
        if self.postgres:
            for schema, name, column in self._execute(POSTGRES_TABLES, [list(names)]):
                entry = found.setdefault(name, {"schema": schema, "columns": set()})
                if entry["schema"] == schema:
                    entry["columns"].add(column)
        else:
            marks = ", ".join("?" for _ in names)
            for name, column in self._execute(SQLITE_TABLES.format(marks=marks), names):
                found.setdefault(name, {"schema": None, "columns": set()})["columns"].add(column)
        return {
            name: Table(entry["schema"], name, frozenset(entry["columns"]))
            for name, entry in found.items()
        }


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def as_text(value: object) -> str | None:
    """A cell as the text shown: times in ISO form, BLOBs in hex, NULL as None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def truthy(value: object) -> bool:
    """A boolean column as either engine stores it (PostgreSQL's bool, SQLite's 0/1)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "t", "true", "y", "yes"}
    return bool(value)
