"""Reads every row a browsing query selects in one forward pass: the exporter's fast path.

Keyset pages (`sqlite_rows`) suit a window that moves about. Reading a whole relation
that way costs a seek, a statement and a page of keys per page, and a view (paged by
offset) is scanned again from its start for every page. One statement with the pages'
filter and order, stepped `batch_rows` at a time, reads the same rows in the same order
at the speed SQLite scans. The next batch is read on the connection's thread while the
caller writes this one.

The statement runs on a connection of its own, opened and hardened like the backend's,
so a long export neither holds up the backend's other queries nor is stopped by their
interrupts. Its text is decoded strictly, in C: the backend's lenient decoder (text
that is not UTF-8 shown escaped) is a Python call per value, a fifth of an export's
time. If some text is not UTF-8 the read fails; it is then read again from the first
row not yet passed on, leniently, in the same transaction, so it sees the same rows.

The rows are one consistent snapshot, as `sqlite3 -csv` reads them: in WAL mode writers
go on meanwhile; with a rollback journal they wait for the export, as for any reader.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_files import read_signature
from dbinspect.backends.sqlite_query import fetch_all
from dbinspect.backends.sqlite_rows import (
    Source,
    TableRef,
    blaming_object,
    filter_sql,
    order_sql,
    quote,
)
from dbinspect.browse.protocol import RowBatch, SplitRead
from dbinspect.errors import QueryError
from dbinspect.models import RowQuery, Value

if TYPE_CHECKING:
    from dbinspect.backends.sqlite_files import ReadOnlyOpen
    from dbinspect.extensions import Extension
    from dbinspect.sqlite_driver import AsyncConnection

WORKER = "dbinspect.backends.sqlite_split_worker"
"""The module a worker process runs (not imported here: the app never needs it)."""

Rows = list[tuple[Value, ...]]


def stream_sql(source: Source, query: RowQuery) -> tuple[str, list[Value]]:
    """The one statement that reads every row `query` selects, in browsing order.

    The columns only: unlike a page it needs no key to read on from, so it stays within
    SQLite's limit on result columns however wide the table is.
    """
    where, params = filter_sql(query)
    sql = f"SELECT {', '.join(quote(c) for c in source.columns)} FROM {quote(source.table)}"
    if where:
        sql += f" WHERE {where}"
    order = order_sql(source, query, True)
    if order:
        sql += f" ORDER BY {order}"
    return sql, params


class RowStreaming:
    """The streaming half of `SqliteBackend` (see the module's notes)."""

    _conn: AsyncConnection
    _plan: ReadOnlyOpen | None
    path: Path | None
    _busy_timeout: float
    extensions: tuple[Extension, ...]

    async def browse_source(self, table: TableRef) -> Source:  # provided by RowBrowsing
        raise NotImplementedError

    async def _open_reader(self) -> AsyncConnection | None:  # provided by the backend
        raise NotImplementedError

    def _translate(self, error: driver.Error, sql: str = "") -> QueryError:  # by the backend
        raise NotImplementedError

    async def split_read(self, relation: TableRef, query: RowQuery) -> SplitRead | None:
        """How worker processes read what `query` selects in parts (`export.split`).

        For a file opened as it is (`ro`: a commit meanwhile shows in `data_version`)
        or `immutable` (a write meanwhile shows in its size and time), not a private
        copy; without extensions, which every worker would have to load again.

        Raises:
            QueryError: The relation cannot be read.
        """
        plan = self._plan
        if plan is None or plan.strategy == "copy" or self.extensions or self.path is None:
            return None
        source = await self.browse_source(relation)
        sql, params = stream_sql(source, query)
        where, count_params = filter_sql(query)
        count_sql = f"SELECT count(*) FROM {quote(source.table)}"
        if where:
            count_sql += f" WHERE {where}"
        reader = await self._open_reader()  # after this, `self._plan` is the current one
        if reader is None:
            return None
        plan = self._plan or plan
        if plan.strategy == "copy":  # the file was written meanwhile, and is read from a copy
            await asyncio.shield(reader.close())
            return None
        try:
            watch = await open_watch(reader, plan, self.path)
            rows = await fetch_all(reader, count_sql, count_params)
        except driver.Error as error:
            await asyncio.shield(reader.close())
            raise self._translate(error, sql) from None
        except BaseException:
            await asyncio.shield(reader.close())
            raise
        job = {
            "target": plan.uri,
            "uri": True,
            "timeout": self._busy_timeout,
            "guarded": False,
            "sql": f"{sql} LIMIT -1 OFFSET ?",
            "params": params,
        }
        return SplitRead(WORKER, job, int(rows[0][0]), source.columns, watch.unchanged, watch.close)

    async def stream_rows(
        self, relation: TableRef, query: RowQuery, *, batch_rows: int
    ) -> AsyncGenerator[RowBatch, None]:
        """Every row `query` selects, in browsing order, `batch_rows` at a time.

        The first batch always comes (empty for no rows). Closing the iterator early, or
        cancelling the task reading it, interrupts the read in flight and ends it.

        Raises:
            QueryError: The relation cannot be read.
        """
        source = await self.browse_source(relation)
        sql, params = stream_sql(source, query)
        reader = await self._open_reader()
        conn = self._conn if reader is None else reader  # in memory: no other connection
        lenient: Callable[[bytes], Any] | None = None
        passed = 0
        try:
            if reader is not None:
                try:
                    await fetch_all(reader, "BEGIN")  # one snapshot, for a second read too
                except driver.Error as error:
                    raise self._translate(error) from None
                lenient, reader.text_factory = reader.text_factory, str
            while True:
                statement, args = sql, params
                if passed:
                    statement, args = f"{sql} LIMIT -1 OFFSET ?", [*params, passed]
                try:
                    async with contextlib.aclosing(
                        _batches(conn, source.table, statement, args, batch_rows)
                    ) as batches:
                        async for rows in batches:
                            yield RowBatch(source.columns, rows)
                            passed += len(rows)
                    break
                except driver.Error as error:
                    # The driver's own error (no SQLite code): text that is not UTF-8.
                    undecoded = driver.primary_code(error) is None
                    if reader is None or lenient is None or not undecoded:
                        raise self._translate(error, sql) from None
                    reader.text_factory, lenient = lenient, None
            if not passed:
                yield RowBatch(source.columns, [])
        finally:
            if reader is not None:
                with contextlib.suppress(driver.Error, ValueError):
                    await asyncio.shield(reader.close())


async def _batches(
    conn: AsyncConnection, table: str, sql: str, params: list[Value], batch_rows: int
) -> AsyncGenerator[Rows, None]:
    """The rows of `sql`, `batch_rows` at a time, the next batch read while one is used.

    Raises:
        driver.Error: The statement failed; a failure of the object itself is its own.
    """
    opening = asyncio.ensure_future(blaming_object(conn, table, conn.execute(sql, params)))
    pending: asyncio.Future[Any] | None = None
    try:
        cursor = await asyncio.shield(opening)
        pending = asyncio.ensure_future(cursor.fetchmany(batch_rows))
        while rows := cast(Rows, await asyncio.shield(pending)):
            pending = asyncio.ensure_future(cursor.fetchmany(batch_rows))
            yield rows
    finally:
        await asyncio.shield(_end(conn, opening, pending))


async def _end(
    conn: AsyncConnection, opening: asyncio.Future[Any], pending: asyncio.Future[Any] | None
) -> None:
    """Stop a read still running on the connection's thread, then end the statement.

    An active statement would keep its snapshot, and any interrupt pending, for every
    later query on the connection (see `sqlite_query`).
    """
    running = [f for f in (opening, pending) if f is not None and not f.done()]
    if running:
        with contextlib.suppress(driver.Error, ValueError):  # ValueError: closed meanwhile
            await conn.interrupt()
        await asyncio.wait(running)
    if pending is not None and not pending.cancelled():
        pending.exception()  # retrieved: a read interrupted here is expected
    if opening.cancelled() or opening.exception() is not None:
        return
    with contextlib.suppress(driver.Error, ValueError):
        await opening.result().close()


class SnapshotWatch:
    """Whether a file changed since this was opened: by `data_version` (another
    connection's commit), or for an immutable open by the file's size and time."""

    def __init__(self, conn: AsyncConnection, plan: ReadOnlyOpen, path: Path, version: int) -> None:
        self._conn = conn
        self._plan = plan
        self._path = path
        self._version = version

    async def unchanged(self) -> bool:
        plan = self._plan
        if plan.strategy == "immutable":
            return await asyncio.to_thread(read_signature, self._path) == plan.signature
        try:
            rows = await fetch_all(self._conn, "PRAGMA data_version")
        except driver.Error:
            return False
        return bool(rows[0][0] == self._version)

    async def close(self) -> None:
        with contextlib.suppress(driver.Error, ValueError):
            await asyncio.shield(self._conn.close())


async def open_watch(conn: AsyncConnection, plan: ReadOnlyOpen, path: Path) -> SnapshotWatch:
    """A watch from now on the file at `path`, opened as `plan` says, through `conn` (a
    connection of its own, out of any transaction).

    Raises:
        driver.Error: The pragma cannot be read.
    """
    rows = await fetch_all(conn, "PRAGMA data_version")
    return SnapshotWatch(conn, plan, path, int(rows[0][0]))
