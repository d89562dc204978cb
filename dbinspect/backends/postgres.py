"""Provides the PostgreSQL backend: a read-only inspection session on one database.

The session is `pg_driver.connect_async`'s: read-only transactions, a statement and a
lock timeout, `application_name = 'dbinspect'`. Browsing rows is `PostgresRows`; this
class adds what the Connection, Metadata and Schema panes and `info`/`schema` read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

from dbinspect import pg_driver as driver
from dbinspect.backends.postgres_catalog import (
    Row,
    read_catalog,
    read_relation_rows,
    relations_schema,
)
from dbinspect.backends.postgres_catalog_sql import TABLE_SIZES
from dbinspect.backends.postgres_facts import read_server_facts
from dbinspect.backends.postgres_rows import PostgresRows
from dbinspect.errors import ConnectError, QueryError
from dbinspect.models import DatabaseFacts, Schema
from dbinspect.url import DatabaseUrl

T = TypeVar("T")

# The next transaction id moves whenever a transaction that wrote ends, and never for a
# read; the catalogs' write counters move when DDL commits (statistics reach other
# sessions within about a second). Both are read from memory, touching no table.
_CATALOGS = (
    "pg_class pg_attribute pg_attrdef pg_constraint pg_index pg_trigger pg_proc pg_type "
    "pg_enum pg_namespace pg_description pg_extension pg_sequence pg_inherits"
).split()
CHANGE_MARKER = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, " + " + ".join(
    f"pg_stat_get_tuples_inserted('{c}'::regclass) + pg_stat_get_tuples_updated('{c}'::regclass)"
    f" + pg_stat_get_tuples_deleted('{c}'::regclass)"
    for c in _CATALOGS
)

SIZED_KINDS = ("table", "partitioned table", "materialized view")


class PostgresBackend(PostgresRows):
    """A read-only inspection session on one PostgreSQL database."""

    supports_interrupt: ClassVar[bool] = True

    def __init__(self, conn: driver.AsyncConnection, url: DatabaseUrl) -> None:
        super().__init__(conn, url)
        self._schema: Schema | None = None
        self._outline: Schema | None = None

    @classmethod
    async def open(cls, url: DatabaseUrl) -> PostgresBackend:
        """Connect to `url` for inspection.

        Raises:
            ConnectError: One clear line: wrong password, unknown database, refused, timeout.
        """
        return cls(await driver.connect_async(url, read_only=True, path="guarded"), url)

    async def _reading(self, work: Awaitable[T]) -> T:
        """Await a catalog read; a driver error becomes one clear `QueryError`."""
        try:
            return await driver.cancel_once(work)
        except driver.Error as error:
            raise driver.catalog_error(self.url, error) from error

    async def facts(self) -> DatabaseFacts:
        """Server, session and database facts, with object counts."""
        server, size = await self._reading(read_server_facts(self.conn))
        schema = await self.outline()  # counts need no details
        return DatabaseFacts(
            size_bytes=size,
            encoding=server.encoding,
            read_only=True,
            counts=schema.counts(),
            server=server,
        )

    async def schema(self, *, refresh: bool = False) -> Schema:
        """Every object with its columns, keys, indexes and definitions (cached until refresh)."""
        if self._schema is None or refresh:
            self._schema = await self._read_catalog(details=True)
            self._outline = None
            self.forget_relations()
        return self._schema

    async def _read_catalog(self, *, details: bool) -> Schema:
        # The full read deparses every index, view and function: half of it goes to a
        # second connection for the time of the read, so that the server works on both
        # halves at once. Without one (the server is out of connections), one does all.
        second = asyncio.ensure_future(self._second_connection()) if details else None
        try:
            return await self._reading(read_catalog(self.conn, details=details, second=second))
        except QueryError as error:
            # A DROP committed while the catalog was read makes a deparsing function fail
            # ("cache lookup failed"), and a server may refuse to share a snapshot (a
            # pooler, an old standby): one more read, on one connection, settles both.
            if second is None and "cache lookup failed" not in error.message:
                raise
            if self.conn.closed:
                raise
            return await self._reading(read_catalog(self.conn, details=details))
        finally:
            if second is not None:
                await _close_when_open(second)

    async def _second_connection(self) -> driver.AsyncConnection | None:
        try:
            return await driver.connect_async(self.url, read_only=True, path="guarded")
        except ConnectError:
            return None

    async def outline(self) -> Schema:
        """Every object's kind and name, without columns, constraints or definitions.

        The full schema once it is read; either is kept until `schema(refresh=True)`.
        """
        if self._schema is not None:
            return self._schema
        if self._outline is None:
            self._outline = await self._read_catalog(details=False)
        return self._outline

    async def quick_outline(self) -> Schema | None:
        """Schemas, tables and views by name, for the first frame; the outline follows."""
        if self._schema is not None or self._outline is not None:
            return self._schema or self._outline
        return relations_schema(*await self.relation_rows())

    async def relation_rows(self) -> tuple[list[Row], list[Row]]:
        """The quick outline's catalog rows (see `postgres_catalog.read_relation_rows`)."""
        return await self._reading(read_relation_rows(self.conn))

    async def table_sizes(self) -> dict[str, int] | None:
        """Bytes on disk of each table with its indexes and TOAST: `pg_total_relation_size`.

        Keyed by `SchemaObject.qualified_name`. Materialized views are included, and a
        partitioned table counts its partitions, which are left out (each would show
        its bytes twice). A table another session holds exclusively (a running ALTER
        TABLE or VACUUM FULL) is left out, not waited for.
        """
        schema = await self.schema()
        rows = await self._reading(_fetch_all(self.conn, TABLE_SIZES))
        own = {f"{nsp}.{name}": int(size) for nsp, name, size in rows if size is not None}
        sizes: dict[str, int] = {}
        for obj in schema.objects:
            name = obj.qualified_name
            if obj.kind in SIZED_KINDS and (name in own or obj.kind == "partitioned table"):
                sizes[name] = own.get(name, 0) + sum(i.size or 0 for i in obj.indexes)
        for obj in schema.objects:  # a partition's bytes count in each table above it
            _add_to_parents(schema, obj.qualified_name, sizes)
        return {name: size for name, size in sizes.items() if not _is_partition(schema, name)}

    async def change_marker(self) -> tuple[int, int]:
        """The next transaction id, and the catalogs' write count: they move when others write."""
        row = await self._reading(_fetch_one(self.conn, CHANGE_MARKER))
        return int(row[0]), int(row[1])

    @property
    def lost(self) -> bool:
        return bool(self.conn.broken or self.conn.closed)

    async def aclose(self) -> None:
        """Close the connection (a lost one closes quietly)."""
        await self.conn.close()


async def _close_when_open(opening: asyncio.Future[driver.AsyncConnection | None]) -> None:
    """Close the connection `opening` gives, or stop opening it."""
    if not opening.done():
        opening.cancel()
    done = await asyncio.gather(opening, return_exceptions=True)
    if isinstance(done[0], driver.AsyncConnection):
        await done[0].close()


def _is_partition(schema: Schema, name: str) -> bool:
    found = schema.get(name)
    return found is not None and isinstance(found.detail("partition_of"), str)


def _add_to_parents(schema: Schema, name: str, sizes: dict[str, int]) -> None:
    """Add a leaf partition's size to each partitioned table above it."""
    obj = schema.get(name)
    if obj is None or obj.kind != "table" or name not in sizes:
        return
    size, seen = sizes[name], {name}
    parent = obj.detail("partition_of")
    while isinstance(parent, str) and parent not in seen:
        seen.add(parent)
        sizes[parent] = sizes.get(parent, 0) + size
        above = schema.get(parent)
        parent = above.detail("partition_of") if above is not None else None


async def _fetch_all(conn: driver.AsyncConnection, query: str) -> list[tuple[Any, ...]]:
    return await (await conn.execute(query.encode())).fetchall()


async def _fetch_one(conn: driver.AsyncConnection, query: str) -> tuple[Any, ...]:
    row = await (await conn.execute(query.encode())).fetchone()
    assert row is not None
    return row
