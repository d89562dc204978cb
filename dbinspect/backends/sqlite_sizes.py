"""Measures bytes on disk per table from SQLite's `dbstat` table, indexes included."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_query import fetch_all

if TYPE_CHECKING:
    from dbinspect.sqlite_driver import AsyncConnection

SIZES_SQL = "SELECT name, sum(pgsize) FROM dbstat GROUP BY name"
NO_DBSTAT = "no such table: dbstat"
"""The error of a SQLite built without SQLITE_ENABLE_DBSTAT_VTAB."""


async def _btree_sizes(conn: AsyncConnection) -> dict[str, int] | None:
    """Bytes of every b-tree (table or index) by its name; None without `dbstat`."""
    try:
        rows = await fetch_all(conn, SIZES_SQL)
    except driver.OperationalError as error:
        if NO_DBSTAT in str(error):
            return None
        raise
    return {str(name): int(size or 0) for name, size in rows}


def fold_indexes(btrees: dict[str, int], owners: dict[str, str]) -> dict[str, int]:
    """Add each index's bytes to the table it belongs to (`owners`: index -> table).

    B-trees with no known owner (a table, or `sqlite_schema` itself) keep their name.
    """
    sizes: dict[str, int] = {}
    for name, size in btrees.items():
        owner = owners.get(name, name)
        sizes[owner] = sizes.get(owner, 0) + size
    return sizes


class TableSizes:
    """The size half of `SqliteBackend`: bytes on disk per table, from `dbstat`.

    Mixed into the backend, whose connection, error translation and schema it uses.
    """

    _conn: AsyncConnection

    async def schema(self, *, refresh: bool = False) -> Any:  # provided by the backend
        raise NotImplementedError

    async def _guarded(self, coro: Any, sql: str = "") -> Any:  # provided by the backend
        raise NotImplementedError

    async def table_sizes(self) -> dict[str, int] | None:
        """Bytes on disk of each table with its indexes; None when `dbstat` is missing.

        Reads every page of the file, which takes seconds on a file of gigabytes: a
        cancelled caller interrupts the statement so the connection is free at once.
        """
        schema = await self.schema()
        try:
            btrees: dict[str, int] | None = await self._guarded(_btree_sizes(self._conn), SIZES_SQL)
        except asyncio.CancelledError:
            # aiosqlite's thread keeps stepping after the task is gone: stop SQLite too.
            await self._conn.interrupt()
            raise
        if btrees is None:
            return None
        # SQLite's own tables (sqlite_sequence, sqlite_stat1, shadow tables) take disk
        # space too, so they are kept; sqlite_schema is not a table of the schema.
        tables = {o.name for o in schema.objects if o.kind == "table"}
        owners = {o.name: o.table for o in schema.objects if o.kind == "index"}
        sizes = fold_indexes(btrees, owners)
        return {name: size for name, size in sizes.items() if name in tables}
