"""Provides `PostgresRows`: the browsing half of the PostgreSQL backend (a `RowPager`).

Pages are keyset pages on the primary key, on `ctid` where there is none (with
`tableoid` on a partitioned table), and by offset on views and foreign tables; every
page is bounded on the server by LIMIT. Values arrive as the Data pane shows them:
integers and floats as numbers, bytea as bytes, and everything else in PostgreSQL's own
text form (numeric exactly, booleans as `true`/`false`, json and jsonb as the server
writes them, arrays as `{...}`, timestamps in the session's time zone), which also reads
back exactly when a key is sent to seek on. A statement that runs long is stopped on the
server: `interrupt` sends a cancel request, and so does cancelling the awaiting task.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Hashable, Sequence
from typing import TYPE_CHECKING, TypeVar

from dbinspect import pg_driver as driver
from dbinspect.backends import postgres_rows_jump as jump
from dbinspect.backends import postgres_rows_scan as scan
from dbinspect.backends import postgres_rows_stream as stream
from dbinspect.backends.postgres_rows_source import RowSource, load_source
from dbinspect.backends.postgres_rows_sql import PageShape, bind, cell_sql, filter_sql, order_sql
from dbinspect.browse.protocol import Relation, RowBatch
from dbinspect.errors import ConnectionLostError, PassingError, QueryError
from dbinspect.models import (
    CellValue,
    ChangeToken,
    Filter,
    RowCount,
    RowPage,
    RowQuery,
    Schema,
    SqlDialect,
    Value,
)
from dbinspect.pg_driver import sql

if TYPE_CHECKING:
    from dbinspect.pg_driver import AsyncConnection
    from dbinspect.url import DatabaseUrl

T = TypeVar("T")

TableRef = Relation | str
"""A relation, or a bare name in the default schema (the first on the search_path)."""

_STALE_SOURCE = (driver.pg_errors.UndefinedTable, driver.pg_errors.UndefinedColumn)
"""Errors that mean the relation changed since its columns were read."""

# The change token is the next transaction id the server will hand out, the xmax of a
# snapshot. It moves when any transaction that wrote commits or aborts, at once, and
# never for a read: a read-only transaction gets no transaction id, so the poll does not
# count itself (pg_stat_database's xact_commit does, and reaches other sessions only
# when their statistics are flushed, up to seconds later). Reading it takes a shared
# lock on the process array for a moment and touches no table. The WAL insert position
# was the other candidate: it also moves for checkpoints, vacuums and the page pruning
# and hint bits that plain SELECTs may log. Both are server-wide, so a write to another
# database also reads as a change (a reread too many, never one too few); on a standby
# the snapshot follows the primary's commits as they are replayed.
#
# Being server-wide, on a busy server it moves every second: so it stands for rows only
# (the Data pane rereads its visible page), and a fingerprint of this database's catalog
# says whether objects changed (every pane reads again). The fingerprint sums the
# transaction ids that wrote each catalog row and counts them: a CREATE, ALTER, DROP or
# COMMENT writes or removes at least one row of these tables; ANALYZE and autovacuum
# update pg_class in place, keeping its xmin.
_CATALOGS = (
    "pg_namespace",
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_constraint",
    "pg_index",
    "pg_trigger",
    "pg_proc",
    "pg_type",
    "pg_description",
    "pg_extension",
)
_FINGERPRINT = ", ".join(
    f"(SELECT count(*)::text || ':' || coalesce(sum(xmin::text::bigint), 0)::text "
    f"FROM pg_catalog.{name})"
    for name in _CATALOGS
)
_CHANGE_TOKEN = sql.SQL(
    "SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text"
)
_CHANGE_TOKEN_OLD = sql.SQL(  # before PostgreSQL 13
    "SELECT pg_catalog.txid_snapshot_xmax(pg_catalog.txid_current_snapshot())::text"
)
_CATALOG_FINGERPRINT = sql.SQL("SELECT " + _FINGERPRINT)


def relation_of(table: TableRef) -> Relation:
    """`table` as a relation (a bare name is in the default schema)."""
    return Relation(None, table) if isinstance(table, str) else table


class PostgresRows:
    """The rows of PostgreSQL relations, page by page, on one inspection connection.

    Args:
        conn: An autocommit connection from `pg_driver.connect_async` (read-only, with a
            statement timeout).
        url: The database's URL (for messages).
    """

    sql_dialect: SqlDialect = "postgres"

    def __init__(self, conn: AsyncConnection, url: DatabaseUrl) -> None:
        self.conn = conn
        self.url = url
        self._sources: dict[Relation, RowSource] = {}
        self._last_change: ChangeToken | None = None

    async def schema(self) -> Schema:  # provided by the backend
        raise NotImplementedError

    def forget_relations(self) -> None:
        """Read relations' columns and keys afresh on next use (after a schema change)."""
        self._sources.clear()

    async def source(self, table: TableRef) -> RowSource:
        """What browsing `table` needs: columns, paging key, storage (read once).

        Raises:
            QueryError: There is no such table or view, or it cannot be read.
        """
        relation = relation_of(table)
        found = self._sources.get(relation)
        if found is None:
            found = await self._guard(relation, load_source(self.conn, relation))
            self._sources[relation] = found
        return found

    async def _guard(self, relation: Relation | None, work: Awaitable[T]) -> T:
        """Await a read; a driver error becomes one `QueryError` saying what happened."""
        started = time.monotonic()
        try:
            return await driver.cancel_once(work)
        except driver.Error as error:
            if relation is not None and isinstance(error, _STALE_SOURCE):
                self._sources.pop(relation, None)
            raise self._translate(error, relation, time.monotonic() - started) from error

    def _translate(
        self, error: driver.Error, relation: Relation | None, elapsed: float
    ) -> QueryError:
        subject = f"{relation}: " if relation is not None else ""
        if driver.server_lost(error):
            return ConnectionLostError(
                driver.lost_message(self.url), hint="run it again; in the app, refresh"
            )
        if isinstance(error, driver.QueryCanceled):
            limit = driver.INSPECTION_STATEMENT_TIMEOUT_MS / 1000
            # Told apart by time as well as by words: the server's messages may be in
            # another language.
            if "statement timeout" in str(error) or elapsed >= limit * 0.95:
                return QueryError(
                    f"{subject}the query ran longer than {limit:g} s and the server stopped it",
                    hint="filter the rows, or sort by an indexed column",
                )
            return QueryError(f"{subject}the query was interrupted")
        if isinstance(error, driver.pg_errors.LockNotAvailable):
            return PassingError(
                f"{subject}another session holds a lock on it",
                hint="try again when that session's transaction ends",
            )
        primary = error.diag.message_primary or str(error).strip().splitlines()[0]
        return QueryError(f"{subject}{primary}")

    # Counting ---------------------------------------------------------------------------

    async def row_estimate(self, relation: TableRef) -> RowCount:
        """The unfiltered relation's row count: exact when small, else from reltuples."""
        source = await self.source(relation)
        return await self._guard(relation_of(relation), jump.row_estimate(self.conn, source))

    async def row_count(self, table: TableRef) -> RowCount:
        """The exact number of rows (a scan of the relation)."""
        source = await self.source(table)
        count = await self._guard(
            relation_of(table), scan.count_rows(self.conn, source, RowQuery())
        )
        return RowCount(count, True)

    async def count_stepwise(
        self, relation: TableRef, query: RowQuery
    ) -> AsyncIterator[tuple[int, float]]:
        """Count the rows `query` selects in steps: `(rows so far, fraction done)`."""
        source = await self.source(relation)
        steps = scan.count_stepwise(self.conn, source, query)
        try:
            while True:
                try:
                    step = await self._guard(relation_of(relation), anext(steps))
                except StopAsyncIteration:
                    return
                yield step
        finally:
            await steps.aclose()

    # Pages ------------------------------------------------------------------------------

    async def fetch_page(
        self,
        relation: TableRef,
        query: RowQuery,
        *,
        after: Sequence[Value] | None = None,
        before: Sequence[Value] | None = None,
        at: Sequence[Value] | None = None,
        offset: int | None = None,
        limit: int = 100,
        cell_limit: int | None = None,
    ) -> RowPage:
        """Rows in browsing order (see `postgres_rows_scan.fetch_page`)."""
        source = await self.source(relation)
        work = scan.fetch_page(
            self.conn, source, query, after=after, before=before, at=at, offset=offset,
            limit=limit, cell_limit=cell_limit,
        )  # fmt: skip
        return await self._guard(relation_of(relation), work)

    async def fetch_rows(
        self,
        table: TableRef,
        *,
        after: tuple[Value, ...] | None = None,
        before: tuple[Value, ...] | None = None,
        limit: int = 100,
    ) -> RowPage:
        """Rows in key order after `after`, or the last `limit` before `before`.

        With neither, the first rows; `before=()` gives the last rows. The same reading
        as the Data pane's, unfiltered and unsorted.
        """
        return await self.fetch_page(table, RowQuery(), after=after, before=before, limit=limit)

    async def page_near(
        self,
        relation: TableRef,
        query: RowQuery,
        position: int,
        total: int,
        *,
        limit: int,
        cell_limit: int | None = None,
    ) -> tuple[RowPage, int]:
        """Rows from about `position` of `total` on, and the position of the first one."""
        source = await self.source(relation)
        work = jump.page_near(
            self.conn, source, query, position, total, limit=limit, cell_limit=cell_limit
        )
        return await self._guard(relation_of(relation), work)

    async def position_of(
        self, relation: TableRef, query: RowQuery, key: Sequence[Value], total: int
    ) -> int:
        """About how many rows precede the row at `key` in browsing order."""
        source = await self.source(relation)
        work = jump.position_of(self.conn, source, query, key, total)
        return await self._guard(relation_of(relation), work)

    async def stream_rows(
        self, relation: TableRef, query: RowQuery, *, batch_rows: int
    ) -> AsyncGenerator[RowBatch, None]:
        """Every row `query` selects, in browsing order, from one snapshot, on a connection
        of its own (see `postgres_rows_stream`): an export's read."""
        source = await self.source(relation)
        conn = await driver.connect_async(
            self.url, read_only=True, autocommit=False, path="guarded"
        )
        batches = stream.stream_rows(conn, source, query, batch_rows)
        try:
            while True:
                try:
                    batch = await self._guard(relation_of(relation), anext(batches))
                except StopAsyncIteration:
                    return
                yield batch
        finally:
            with contextlib.suppress(driver.Error):  # the connection is closed anyway
                await batches.aclose()
            await asyncio.shield(conn.close())

    # Single rows ------------------------------------------------------------------------

    async def find_key(
        self, relation: TableRef, match: dict[str, Value]
    ) -> tuple[Value, ...] | None:
        """The paging key of the first row whose columns equal `match` (None on a view)."""
        source = await self.source(relation)
        if source.by_offset:
            return None
        query = RowQuery(filters=tuple(Filter(c, "equals", v) for c, v in match.items()))
        page = await self.fetch_page(relation, query, limit=1, cell_limit=1)
        return page.keys[0] if page.keys else None

    async def fetch_cell(
        self,
        relation: TableRef,
        query: RowQuery,
        position: Sequence[Value],
        column: str,
        limit: int,
    ) -> CellValue | None:
        """One cell of the row at `position`, cut to `limit` characters (bytes for bytea).

        Its type is PostgreSQL's name for it (`pg_typeof`); its size is in characters of
        its text form, in bytes for bytea, and 0 for NULL and integers and floats.
        """
        source = await self.source(relation)
        index = source.column_names.index(source.column(column).name)
        sort = source.column(query.sort_column) if query.sort_column else None
        shape = PageShape(source, sort, None)
        if source.by_offset:
            conditions, params = filter_sql(source, query)
            order = order_sql(source, query, forward=True)
            params += [1, int(position[-1] or 0)]
            statement = cell_sql(shape, conditions, order, offset=True, index=index, limit=limit)
        else:
            keys = list(position[1:] if query.sort_column else position)
            conditions = [sql.SQL("{} = %s").format(source.key_ref(k)) for k in source.keys]
            params = [*(bind(v) for v in keys), 1]
            statement = cell_sql(shape, conditions, None, offset=False, index=index, limit=limit)
        rows = await self._guard(
            relation_of(relation), scan.fetch_all(self.conn, statement, params)
        )
        if not rows:
            return None
        value, size, kind = rows[0]
        return CellValue(value=value, size=int(size or 0), type=str(kind))

    # Other sessions ---------------------------------------------------------------------

    async def change_token(self) -> Hashable:
        """A value that moves when another session commits a write (see `_CHANGE_TOKEN`)."""
        statement = _CHANGE_TOKEN if self.conn.info.server_version >= 130_000 else _CHANGE_TOKEN_OLD
        rows = await self._guard(None, scan.fetch_all(self.conn, statement, []))
        data = str(rows[0][0])
        if self._last_change is None or self._last_change.data != data:
            # Only after a write somewhere: the fingerprint reads the whole catalog.
            found = await self._guard(None, scan.fetch_all(self.conn, _CATALOG_FINGERPRINT, []))
            self._last_change = ChangeToken(catalog=tuple(found[0]), data=data)
        return self._last_change

    async def interrupt(self) -> None:
        """Stop the statement now running on this connection: a cancel request to the
        server (dropping the awaiting task alone would leave it running there)."""
        with contextlib.suppress(driver.Error):
            await self.conn.cancel_safe()
