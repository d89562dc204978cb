"""Provides the SQLite backend: a hardened, read-only aiosqlite inspection session."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import pwd
import shutil
import stat
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_errors import translate_error
from dbinspect.backends.sqlite_files import (
    ReadOnlyOpen,
    check_database_file,
    is_wal_mode,
    plan_read_only_open,
    read_signature,
)
from dbinspect.backends.sqlite_guard import HARDENING_PRAGMAS, HardenedConnection
from dbinspect.backends.sqlite_names import quote_identifier
from dbinspect.backends.sqlite_pages import read_schema_names
from dbinspect.backends.sqlite_query import fetch_all, fetch_value
from dbinspect.backends.sqlite_rows import RowBrowsing, TableRef, table_name
from dbinspect.backends.sqlite_schema import load_schema, outline_from_names
from dbinspect.backends.sqlite_sizes import TableSizes
from dbinspect.backends.sqlite_stream import RowStreaming
from dbinspect.errors import ConnectError, QueryError
from dbinspect.extensions import Extension
from dbinspect.models import DatabaseFacts, RowCount, RowPage, RowQuery, Schema, Value
from dbinspect.url import DatabaseUrl

if TYPE_CHECKING:
    from dbinspect.sqlite_driver import AsyncConnection

DEFAULT_BUSY_TIMEOUT = 5.0
ESTIMATE_ABOVE_ROWS = 200_000
"""Row counts up to this many (by rowid estimate) are counted exactly on request."""


class SqliteBackend(RowBrowsing, RowStreaming, TableSizes):
    """A read-only inspection session on one SQLite file.

    Nothing it does changes the file or its directory: the connection is `mode=ro`
    (or `immutable=1`, or a private copy, see `choose_open_strategy`) with
    `query_only`, `trusted_schema=OFF`, `cell_size_check=ON` and `mmap_size=0`.
    """

    supports_interrupt: ClassVar[bool] = True

    def __init__(
        self,
        url: DatabaseUrl,
        conn: AsyncConnection,
        path: Path | None,
        snapshot: Path | None,
        extensions: tuple[Extension, ...] = (),
    ) -> None:
        self.url = url
        self.extensions = extensions
        """The extensions loaded into this session's connection."""
        self.path = path
        self._conn = conn
        self._snapshot_dir = snapshot
        self._schema: Schema | None = None
        self._plan: ReadOnlyOpen | None = None
        """How the connection was opened; an immutable one is reopened once stale."""
        self._busy_timeout = DEFAULT_BUSY_TIMEOUT
        self._reopens = 0

    @classmethod
    async def open(
        cls,
        url: DatabaseUrl,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        probe: bool = True,
        extensions: tuple[Extension, ...] = (),
    ) -> SqliteBackend:
        """Open `url` for inspection.

        Args:
            url: The database.
            busy_timeout: Seconds to wait for another process's lock.
            probe: Read the schema now, so an unreadable file fails here rather than on
                the first query. The app skips it to draw its first frame sooner: SQLite
                parses the whole schema on the first query, over a second on 20,000 tables.
            extensions: Loaded into the connection before anything is read (the user
                chose them: see `dbinspect.extensions`).

        Raises:
            ConnectError: The file is missing, not SQLite, unreadable, corrupt or locked,
                or an extension cannot be loaded.
        """
        snapshot: Path | None = None
        plan: ReadOnlyOpen | None = None
        if url.path is None:
            target, uri, path = ":memory:", False, None
        else:
            path = check_database_file(url.path)
            plan = await asyncio.to_thread(plan_read_only_open, path)
            target, uri, snapshot = plan.uri, True, plan.snapshot_dir
        try:
            conn = await driver.connect_async(
                target,
                uri=uri,
                timeout=busy_timeout,
                isolation_level=None,
                factory=HardenedConnection,
            )
        except driver.Error as error:
            _remove_snapshot(snapshot)
            raise ConnectError(f"{url.path}: cannot open: {error}") from None
        backend = cls(url, conn, path, snapshot, extensions)
        backend._plan = plan
        backend._busy_timeout = busy_timeout
        try:
            await driver.load_extensions_async(conn, extensions)
            await backend._harden_and_probe(probe)
        except driver.Error as error:
            await backend.aclose()
            translated = translate_error(error, url.path or ":memory:")
            raise ConnectError(translated.message, translated.hint) from None
        except BaseException:
            # Cancelled while hardening: nobody else holds this connection, and its
            # (non-daemon) thread would keep the process alive at exit.
            await backend.aclose()
            raise
        return backend

    async def _harden_and_probe(self, probe: bool) -> None:
        for pragma in HARDENING_PRAGMAS:
            await fetch_all(self._conn, pragma)
        if probe:
            # Reading the schema proves the file is a database we can read, now, not later.
            await self._scalar("SELECT count(*) FROM sqlite_schema")

    async def _scalar(self, sql: str, params: tuple[Value, ...] = ()) -> Any:
        return await fetch_value(self._conn, sql, params)

    async def _follow_writers(self) -> None:
        """Reopen an `immutable` connection once another process touches the file.

        SQLite documents reads of a changed immutable file as undefined (stale pages,
        wrong counts); a write shows as a new `-wal`/`-shm` or a new size or mtime. The
        new connection replaces the old one on aiosqlite's own thread, between two
        queries, so queries already built on `self._conn` run on the fresh one.
        """
        plan, path = self._plan, self.path
        if plan is None or path is None or plan.strategy != "immutable":
            return
        if await asyncio.to_thread(read_signature, path) == plan.signature:
            return
        fresh = await asyncio.to_thread(plan_read_only_open, path)
        try:
            await self._conn._execute(  # type: ignore[no-untyped-call]
                _swap_connection, self._conn, fresh.uri, self._busy_timeout, self.extensions
            )
        except BaseException:
            _remove_snapshot(fresh.snapshot_dir)
            raise
        _remove_snapshot(self._snapshot_dir)
        self._plan, self._snapshot_dir, self._schema = fresh, fresh.snapshot_dir, None
        self._reopens += 1

    async def _guarded(self, coro: Any, sql: str = "") -> Any:
        try:
            await self._follow_writers()
            return await coro
        except driver.Error as error:
            raise self._translate(error, sql) from None

    async def _open_reader(self) -> AsyncConnection | None:
        """A second connection to the file, opened and hardened as this one is.

        For one long read (an export) that should neither hold up this connection's
        queries nor be stopped by their interrupts. None for an in-memory database,
        which no other connection sees.

        Raises:
            QueryError: It cannot be opened.
            ConnectError: An extension fails to load into it.
        """
        try:
            await self._follow_writers()
            if self._plan is None:
                return None
            connecting = asyncio.ensure_future(
                driver.connect_async(
                    self._plan.uri,
                    uri=True,
                    timeout=self._busy_timeout,
                    isolation_level=None,
                    factory=HardenedConnection,
                )
            )
            try:
                conn = await asyncio.shield(connecting)
            except asyncio.CancelledError:
                # Its thread would outlive the export, and keep the process alive at exit.
                with contextlib.suppress(driver.Error, ValueError):
                    await (await connecting).close()
                raise
        except driver.Error as error:
            raise self._translate(error) from None
        try:
            await driver.load_extensions_async(conn, self.extensions)
            for pragma in HARDENING_PRAGMAS:
                await fetch_all(conn, pragma)
        except BaseException as error:
            await asyncio.shield(conn.close())
            if isinstance(error, driver.Error):
                raise self._translate(error) from None
            raise
        return conn

    def _translate(self, error: driver.Error, sql: str = "") -> QueryError:
        """The driver's error as this project's, naming the file (and the SQL, if given)."""
        return translate_error(error, self.url.path or ":memory:", sql)

    async def facts(self) -> DatabaseFacts:
        """File and engine facts, with object counts."""
        values = {}
        for name in (
            "journal_mode", "page_size", "page_count", "freelist_count", "encoding",
            "user_version", "schema_version", "application_id",
        ):  # fmt: skip
            values[name] = await self._guarded(self._scalar(f"PRAGMA {name}"))
        version = await self._guarded(self._scalar("SELECT sqlite_version()"))
        schema = await self.schema()
        size, wal_size, owner, permissions = await asyncio.to_thread(_file_facts, self.path)
        journal_mode = values["journal_mode"]
        if self.path is not None and await asyncio.to_thread(is_wal_mode, self.path):
            # An `immutable=1` connection reports `delete` for a WAL file: trust the header.
            journal_mode = "wal"
        return DatabaseFacts(
            path=str(self.path) if self.path else None,
            size_bytes=size,
            wal_size_bytes=wal_size,
            sqlite_version=version,
            sqlite_library=driver.LIBRARY_SOURCE,
            extensions=tuple(str(e) for e in self.extensions),
            journal_mode=journal_mode,
            page_size=values["page_size"],
            page_count=values["page_count"],
            freelist_count=values["freelist_count"],
            encoding=values["encoding"],
            user_version=values["user_version"],
            schema_version=values["schema_version"],
            application_id=values["application_id"],
            read_only=True,
            owner=owner,
            permissions=permissions,
            counts=schema.counts(),
        )

    async def schema(self, *, refresh: bool = False) -> Schema:
        """Every object with its columns, keys, indexes and SQL (cached until refresh)."""
        if self._schema is None or refresh:
            self._schema = await self._guarded(load_schema(self._conn))
        return self._schema

    async def outline(self) -> Schema:
        """Every object's kind, name, table and SQL, without column details (fast)."""
        if self._schema is not None:
            return self._schema
        outline: Schema = await self._guarded(load_schema(self._conn, details=False))
        return outline

    async def quick_outline(self) -> Schema | None:
        """Kinds and names read from the file's pages before SQLite parses the schema.

        None when there is no file, the full schema is already known, or the pages cannot
        be trusted (see `sqlite_pages.read_schema_names`).
        """
        if self.path is None or self._schema is not None or self._snapshot_dir is not None:
            return None
        rows = await asyncio.to_thread(read_schema_names, self.path)
        return None if rows is None else outline_from_names(rows)

    async def row_count(self, table: TableRef) -> RowCount:
        """The exact number of rows (scans the table or its smallest index)."""
        table = table_name(table)
        sql = f"SELECT count(*) FROM {quote_identifier(table)}"
        return RowCount(int(await self._guarded(self._scalar(sql), sql)), True)

    async def row_estimate(self, table: TableRef) -> RowCount:
        """Exact for small tables and views; for big rowid tables, `max(rowid)` as an estimate."""
        table = table_name(table)
        obj = (await self.schema()).get(table)
        if obj is not None and obj.kind == "table" and not obj.without_rowid:
            sql = f"SELECT max(rowid) FROM {quote_identifier(table)}"
            highest = await self._guarded(self._scalar(sql), sql)
            if isinstance(highest, int) and highest > ESTIMATE_ABOVE_ROWS:
                return RowCount(highest, False)
        return await self.row_count(table)

    async def key_columns(self, table: str) -> tuple[str, ...]:
        """What rows are paged on: `rowid`, the primary key, or `offset` (views)."""
        obj = (await self.schema()).get(table)
        if obj is None:
            raise QueryError(f"no such table or view: {table}")
        if obj.kind == "table" and not obj.without_rowid:
            return ("rowid",)
        pk = sorted((c for c in obj.columns if c.pk), key=lambda c: c.pk)
        if obj.kind in ("table", "virtual table") and pk:
            return tuple(c.name for c in pk)
        return ("offset",)

    async def fetch_rows(
        self,
        table: str,
        *,
        after: tuple[Value, ...] | None = None,
        before: tuple[Value, ...] | None = None,
        limit: int = 100,
    ) -> RowPage:
        """Rows in key order after `after`, or the last `limit` before `before` (keyset paging).

        With neither, the first rows; `before=()` gives the last rows. Views are paged by
        offset. The same reading as the Data pane's (see `sqlite_rows.fetch_page`), so any
        table SQLite can hold reads, however wide, and a failure is the object's own.
        """
        return await self.fetch_page(table, RowQuery(), after=after, before=before, limit=limit)

    def _is_rowid_table(self, schema: Schema, table: str) -> bool:
        obj = schema.get(table)
        return obj is not None and obj.kind == "table" and not obj.without_rowid

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
        """Rows from about `position` of `total` on, and the position of the first one.

        On an unfiltered rowid table the rowid is interpolated between the lowest and
        highest, so a jump into 5,000,000 rows is one index seek; else an offset scan.
        """
        table = table_name(relation)
        if query.plain and self._is_rowid_table(await self.schema(), table):
            bounds = await self.rowid_bounds(table)
            if bounds is not None:
                low, high = bounds
                rowid = low + round(position * (high - low) / max(1, total - 1))
                page = await self.fetch_page(
                    table, query, at=(rowid,), limit=limit, cell_limit=cell_limit
                )
                if page.keys and isinstance(page.keys[0][0], int):
                    first = page.keys[0][0]
                    return page, round((first - low) * (total - 1) / max(1, high - low))
                return page, position
        page = await self.fetch_page(
            table, query, offset=position, limit=limit, cell_limit=cell_limit
        )
        return page, position

    async def position_of(
        self, relation: TableRef, query: RowQuery, key: Sequence[Value], total: int
    ) -> int:
        """About how many rows precede the row at `key`: interpolated on rowids, else counted."""
        table = table_name(relation)
        if (
            query.plain
            and key
            and isinstance(key[0], int)
            and self._is_rowid_table(await self.schema(), table)
        ):
            bounds = await self.rowid_bounds(table)
            if bounds is not None:
                low, high = bounds
                return round((key[0] - low) * (total - 1) / max(1, high - low))
        return await self.rows_before(table, query, key)

    async def change_token(self) -> Hashable:
        """Moves when another connection writes: data and schema versions, and the file.

        The file's signature is part of it because an immutable connection sees no
        other writer until it is reopened (`_follow_writers`), and a reopened
        connection starts its `data_version` afresh.
        """
        data, schema = await self.change_marker()
        signature = (
            None if self.path is None else await asyncio.to_thread(read_signature, self.path)
        )
        return (self._reopens, data, schema, signature)

    async def change_marker(self) -> tuple[int, int]:
        """`PRAGMA data_version` and `schema_version`: they move when others write."""
        data = await self._guarded(self._scalar("PRAGMA data_version"))
        schema = await self._guarded(self._scalar("PRAGMA schema_version"))
        return int(data), int(schema)

    async def interrupt(self) -> None:
        """Abort the statement now running on the inspection connection."""
        await self._conn.interrupt()

    lost = False
    """A file's connection is never lost to a server."""

    async def aclose(self) -> None:
        """Close the read-only connection and drop any private snapshot."""
        try:
            await asyncio.shield(self._conn.close())
        finally:
            _remove_snapshot(self._snapshot_dir)


def _swap_connection(
    proxy: AsyncConnection, uri: str, timeout: float, extensions: tuple[Extension, ...]
) -> None:
    """On the proxy's thread: open `uri` hardened as `open` does, then replace the old one."""
    fresh = driver.connect(
        uri, uri=True, timeout=timeout, isolation_level=None, factory=HardenedConnection
    )
    assert isinstance(fresh, HardenedConnection)
    try:
        driver.load_extensions(fresh, extensions, allow_sql_loading=fresh.allow_extension_loading)
        for pragma in HARDENING_PRAGMAS:
            fresh.execute(pragma).fetchall()
    except BaseException:
        fresh.close()
        raise
    old, proxy._connection = proxy._connection, fresh
    if old is not None:
        old.close()


def _remove_snapshot(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _file_facts(path: Path | None) -> tuple[int, int | None, str | None, str | None]:
    """Size, `-wal` size, owner and permissions of the file (zeros for :memory:)."""
    if path is None:
        return 0, None, None, None
    info = path.stat()
    wal = Path(f"{path}-wal")
    wal_size = wal.stat().st_size if wal.exists() else None
    owner = _user_name(info.st_uid, info.st_gid)
    return info.st_size, wal_size, owner, stat.filemode(info.st_mode)


def _user_name(uid: int, gid: int) -> str:
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return f"{user}:{group}"
