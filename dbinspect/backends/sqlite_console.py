"""The query console on a SQLite file: read-only by its authorizer, writes on request.

Two connections. Reads run on one opened as every inspection connection is (read-only,
`query_only`, hardened), whose authorizer also refuses every write action with a message
that says how to switch write mode on. A statement run in write mode is first prepared
there: the authorizer decides at prepare time, before anything runs, so a read goes on
running there and only a write moves to the second connection, opened read-write on
first use, inside a transaction that the user then commits or rolls back. Both refuse
ATTACH, `writable_schema` and `load_extension()` always.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_files import (
    ReadOnlyOpen,
    check_database_file,
    plan_read_only_open,
)
from dbinspect.backends.sqlite_guard import (
    HARDENING_PRAGMAS,
    ConsoleConnection,
    WritingConnection,
)
from dbinspect.backends.sqlite_query import fetch_all
from dbinspect.backends.sqlite_stream import WORKER, open_watch
from dbinspect.browse.protocol import SplitRead
from dbinspect.errors import ConnectError
from dbinspect.extensions import Extension
from dbinspect.query.console import ROWS_KEPT, KeptRows, Outcome, PlanNode, Row, StatementError
from dbinspect.query.statements import Dialect
from dbinspect.url import DatabaseUrl

SKIP_BATCH = 2_000
ONE_AT_A_TIME = "run one statement at a time"


_NEAR = re.compile(r'near "((?:[^"]|"")*)"')
_NAMED = re.compile(r"no such (?:table|column|function|collation sequence): (?:\w+\.)?(.+)$")


def error_position(message: str, sql: str) -> int | None:
    """Where in `sql` the token a SQLite error names is (it gives no offset itself)."""
    found = _NEAR.search(message) or _NAMED.search(message)
    if found is None:
        return None
    token = found.group(1).replace('""', '"')
    if message.endswith(": syntax error"):
        at = _syntax_error_at(message, sql, token)
        if at is not None:
            return at
    # The token as a whole word first: `t` in `select 1 from t` is not the one in `select`.
    for pattern in (rf"(?<!\w){re.escape(token)}(?!\w)", re.escape(token)):
        match = re.search(pattern, sql) or re.search(pattern, sql, re.IGNORECASE)
        if match is not None:
            return match.start()
    return None


SYNTAX_TRIES = 50
"""The most places of a repeated token tried for a syntax error (each is a prepare)."""


def _syntax_error_at(message: str, sql: str, token: str) -> int | None:
    """Which of the places of `token` in `sql` a syntax error is at.

    The driver does not expose `sqlite3_error_offset`, and the token a message names
    may come more than once (`AND AND`). The parser stops at the first token it cannot
    take: the text up to and including that place fails with the same message, the
    text up to an earlier place does not. Each prefix is prepared on a private
    in-memory connection whose authorizer denies every action, so none of it runs.
    """
    conn = driver.connect(":memory:")
    try:
        conn.set_authorizer(lambda *_: driver.SQLITE_DENY)
        pattern = rf"(?<!\w){re.escape(token)}(?!\w)" if token else None
        places = re.finditer(pattern, sql, re.IGNORECASE) if pattern else iter(())
        for tried, place in enumerate(places):
            if tried >= SYNTAX_TRIES:
                break
            try:
                conn.execute(sql[: place.end()])
            except driver.Error as error:
                if str(error) == message:
                    return place.start()
            except driver.DriverWarning:
                continue  # a `;` before this place: past the statement
    finally:
        conn.close()
    return None


async def _read_ahead(conn: Any, sql: str, skip: int, batch_rows: int) -> AsyncIterator[list[Row]]:
    """The rows of `sql` after the first `skip`, `batch_rows` at a time, the next batch
    read on the connection's thread while the caller uses this one."""
    cursor = await conn.execute(sql)
    try:
        while skip:
            skipped = await cursor.fetchmany(min(SKIP_BATCH, skip))
            if not skipped:
                return
            skip -= len(skipped)
        pending = asyncio.ensure_future(cursor.fetchmany(batch_rows))
        try:
            while rows := await asyncio.shield(pending):
                pending = asyncio.ensure_future(cursor.fetchmany(batch_rows))
                yield rows
        finally:
            if not pending.done():
                with contextlib.suppress(driver.Error, ValueError):
                    await conn.interrupt()
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # retrieved: an interrupted read is expected here
    finally:
        with contextlib.suppress(driver.Error, ValueError):
            await asyncio.shield(cursor.close())


class SqliteResultCursor:
    """A statement's rows on the read connection, forward a page at a time.

    A page at another place runs the statement again from there: `SELECT * FROM (...)
    LIMIT -1 OFFSET n` where the statement is a query, else it is stepped through from
    the start (a PRAGMA's or an EXPLAIN's few rows).
    """

    rewinds: Literal["rerun", "scroll"] = "rerun"
    non_text: frozenset[int] = frozenset()  # SQLite's empty values are all TEXT

    def __init__(self, console: SqliteConsole, sql: str, cursor: Any, wrappable: bool) -> None:
        self._console = console
        self._sql = sql
        self._cursor: Any = cursor
        self._position = 0
        self._wrappable = wrappable
        self._count: int | None = None
        self.columns: tuple[str, ...] = tuple(str(d[0]) for d in cursor.description)
        self.last_read = time.monotonic()

    def _wrapped(self, select: str) -> str:
        # The newline ends a `--` comment that closes the statement.
        return select.format(f"(\n{self._sql}\n)")

    @property
    def idle(self) -> bool:
        """No statement is open on the database for this result."""
        return self._cursor is None

    async def rows(self, offset: int, limit: int) -> list[Row]:
        async with self._console.lock:
            self.last_read = time.monotonic()
            if self._cursor is None or offset != self._position:
                await self._seek(offset)
            rows: list[Row] = await self._console.guarded(self._cursor.fetchmany(limit), self._sql)
            self._position += len(rows)
            if len(rows) < limit and self._count is None:
                self._count = self._position
            return rows

    async def _seek(self, offset: int) -> None:
        conn = self._console.reader
        await self._close_cursor()
        if self._wrappable:
            sql = self._wrapped("SELECT * FROM {} LIMIT -1 OFFSET ?")
            self._cursor = await self._console.guarded(conn.execute(sql, (offset,)), self._sql)
            self._position = offset
            return
        self._cursor = await self._console.guarded(conn.execute(self._sql), self._sql)
        self._position = 0
        while self._position < offset:
            skipped = await self._console.guarded(
                self._cursor.fetchmany(min(SKIP_BATCH, offset - self._position)), self._sql
            )
            if not skipped:
                break
            self._position += len(skipped)

    async def count(self) -> int:
        if self._count is not None:
            return self._count
        if self._wrappable:
            rows = await self._console.guarded(
                fetch_all(self._console.reader, self._wrapped("SELECT count(*) FROM {}")),
                self._sql,
            )
            self._count = int(rows[0][0])
            return self._count
        counted = 0
        async for batch in self.stream(SKIP_BATCH):
            counted += len(batch)
        self._count = counted
        return counted

    async def stream(self, batch_rows: int) -> AsyncIterator[list[Row]]:
        """Every row in one pass, as the table export reads (`sqlite_stream`): on a
        connection of its own in one snapshot, text decoded strictly in C (the lenient
        decoder is a Python call per value), the next batch read while one is used. Text
        that is not UTF-8 makes it read on leniently from the first row not yet passed."""
        reader = await self._console.guarded(self._console.export_reader(), self._sql)
        conn = self._console.reader if reader is None else reader
        passed = 0
        try:
            if reader is not None:
                lenient, reader.text_factory = reader.text_factory, str
            while True:
                try:
                    async for rows in _read_ahead(conn, self._sql, passed, batch_rows):
                        passed += len(rows)
                        yield rows
                    return
                except driver.Error as error:
                    undecoded = driver.primary_code(error) is None
                    if reader is None or reader.text_factory is not str or not undecoded:
                        raise self._console.error_of(error, self._sql) from None
                    reader.text_factory = lenient
        finally:
            if reader is not None:
                with contextlib.suppress(driver.Error, ValueError):
                    await asyncio.shield(reader.close())

    async def split_read(self) -> SplitRead | None:
        """How worker processes read this result in parts (`export.split`): for a query
        (one `SELECT * FROM (...)` can wrap) on a file opened as it is or immutable,
        without extensions. The workers run it under the same authorizer.

        Raises:
            StatementError: The statement or the file cannot be read.
        """
        console = self._console
        plan, path = console._plan, console.path
        if not self._wrappable or plan is None or path is None or plan.strategy == "copy":
            return None
        if console._extensions:
            return None
        rows = await self.count()
        reader = await console.guarded(_open_reader(console._target, True, ()), self._sql)
        try:
            watch = await console.guarded(open_watch(reader, plan, path), self._sql)
        except BaseException:
            with contextlib.suppress(driver.Error, ValueError):
                await asyncio.shield(reader.close())
            raise
        job = {
            "target": console._target,
            "uri": True,
            "timeout": 5.0,
            "guarded": True,
            "sql": self._wrapped("SELECT * FROM {} LIMIT -1 OFFSET ?"),
            "params": [],
        }
        return SplitRead(WORKER, job, rows, self.columns, watch.unchanged, watch.close)

    async def _close_cursor(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            with contextlib.suppress(driver.Error, ValueError):
                await asyncio.shield(cursor.close())

    async def close(self) -> None:
        await self._close_cursor()


async def _open_reader(
    target: str, uri: bool, extensions: tuple[Extension, ...], *, begin: bool = False
) -> Any:
    """A console read connection: hardened, `query_only`, its authorizer guarding.

    `begin` opens a transaction first (one snapshot for reads that may start over),
    which the authorizer would refuse once it guards.

    Raises:
        driver.Error: It cannot be opened, or an extension cannot be loaded.
    """
    conn = await driver.connect_async(
        target, uri=uri, timeout=5.0, isolation_level=None, factory=ConsoleConnection
    )
    try:
        await driver.load_extensions_async(conn, extensions)
        for pragma in HARDENING_PRAGMAS:
            await fetch_all(conn, pragma)
        if begin:
            await fetch_all(conn, "BEGIN")
    except BaseException:
        with contextlib.suppress(driver.Error, ValueError):
            await asyncio.shield(conn.close())
        raise
    conn._conn.guarding = True  # type: ignore[attr-defined]
    return conn


class SqliteConsole:
    """The console's connections to one SQLite file (see the module's docstring)."""

    dialect: Dialect = "sqlite"
    lost = False
    """A file's connection is never lost to a server."""

    def __init__(self, url: DatabaseUrl, reader: Any, path: Path | None, read_only: bool) -> None:
        self.url = url
        self.reader: Any = reader
        self.path = path
        self.can_write = not read_only and path is not None
        self.lock = asyncio.Lock()
        """Held while a result's cursor moves (one statement steps at a time)."""
        self._writer: Any = None
        self._snapshot: Path | None = None
        self._plan: ReadOnlyOpen | None = None
        self._target, self._uri = ":memory:", False
        self._extensions: tuple[Extension, ...] = ()
        self._current: SqliteResultCursor | None = None
        self._results: weakref.WeakSet[SqliteResultCursor] = weakref.WeakSet()
        """Every result still referenced (a grid may read an older one again)."""

    @classmethod
    async def open(
        cls, url: DatabaseUrl, *, read_only: bool, extensions: tuple[Extension, ...] = ()
    ) -> SqliteConsole:
        """Open the read connection (the write one opens on the first write).

        Raises:
            ConnectError: The file cannot be opened or an extension fails to load.
        """
        path: Path | None = None
        target, uri = ":memory:", False
        snapshot: Path | None = None
        plan: ReadOnlyOpen | None = None
        if url.path is not None:
            path = check_database_file(url.path)
            plan = await asyncio.to_thread(plan_read_only_open, path)
            target, uri, snapshot = plan.uri, True, plan.snapshot_dir
            if plan.strategy != "ro":
                read_only = True  # a read-only file or folder: no write connection either
        try:
            conn = await _open_reader(target, uri, extensions)
        except driver.Error as error:
            raise ConnectError(f"{url.path or ':memory:'}: cannot open: {error}") from None
        console = cls(url, conn, path, read_only)
        console._snapshot, console._plan = snapshot, plan
        console._target, console._uri, console._extensions = target, uri, extensions
        return console

    async def export_reader(self) -> Any | None:
        """A second read connection, for one long read (an export) that the grid's reads
        should not wait behind; None for an in-memory database, which no other sees."""
        if not self._uri:
            return None
        return await _open_reader(self._target, self._uri, self._extensions, begin=True)

    async def guarded(self, work: Any, sql: str) -> Any:
        """Await `work`; a driver error becomes a `StatementError` with its position."""
        try:
            return await work
        except driver.DriverWarning:
            raise StatementError(ONE_AT_A_TIME, sql) from None
        except driver.Error as error:
            raise self.error_of(error, sql) from None

    def error_of(self, error: driver.Error, sql: str) -> StatementError:
        message = str(error)
        if "one statement at a time" in message:
            # The standard library's sqlite3 says it with a ProgrammingError (sqlean.py
            # with a Warning, caught where the statement runs).
            return StatementError(ONE_AT_A_TIME, sql)
        refused = any(
            getattr(c, "refused_write", False) for c in (self.reader._conn, self._raw_writer())
        )
        if driver.primary_code(error) == driver.SQLITE_INTERRUPT or message == "interrupted":
            return StatementError("cancelled", sql)
        if "not authorized" in message and refused:
            return StatementError(
                "read-only: this statement writes; switch write mode on to run it", sql
            )
        if "not authorized" in message:
            return StatementError(
                "refused: the console never runs ATTACH, writable_schema or load_extension",
                sql,
            )
        return StatementError(message, sql, error_position(message, sql))

    def _raw_writer(self) -> Any:
        return None if self._writer is None else self._writer._conn

    async def _writer_connection(self) -> Any:
        if self._writer is None:
            assert self.path is not None
            uri = self.path.resolve().as_uri() + "?mode=rw"
            try:
                self._writer = await driver.connect_async(
                    uri, uri=True, timeout=5.0, isolation_level=None, factory=WritingConnection
                )
                await fetch_all(self._writer, "PRAGMA foreign_keys = ON")
                await fetch_all(self._writer, "PRAGMA trusted_schema = OFF")
            except driver.Error as error:
                raise StatementError(f"cannot open the file for writing: {error}", "") from None
        return self._writer

    async def _end_current(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            await current.close()

    async def run(self, sql: str, *, write: bool = False) -> Outcome:
        await self._end_current()
        self.reader._conn.refused_write = False
        try:
            cursor = await self.reader.execute(sql)
        except driver.DriverWarning:
            # The driver's way of saying the text holds more than one statement.
            raise StatementError(ONE_AT_A_TIME, sql) from None
        except driver.Error as error:
            if write and self.reader._conn.refused_write:
                if not self.can_write:
                    raise StatementError(
                        "read-only: the database was opened read-only", sql
                    ) from None
                return await self._run_write(sql)
            raise self.error_of(error, sql) from None
        if cursor.description is None:
            with contextlib.suppress(driver.Error):
                await cursor.close()
            return Outcome()
        wrappable = await self._wrappable(sql)
        self._current = SqliteResultCursor(self, sql, cursor, wrappable)
        self._results.add(self._current)
        outcome = Outcome(cursor=self._current)
        return outcome

    async def _wrappable(self, sql: str) -> bool:
        """Whether `SELECT * FROM (sql)` is valid: a query rather than a PRAGMA or EXPLAIN."""
        if not re.match(r"\s*(SELECT|WITH|VALUES)\b", sql, re.IGNORECASE):
            return False
        try:
            await fetch_all(self.reader, f"SELECT * FROM (\n{sql}\n) LIMIT 0")
        except driver.Error:
            return False
        return True

    async def _run_write(self, sql: str) -> Outcome:
        writer = await self._writer_connection()
        if not writer.in_transaction:
            await self.guarded(fetch_all(writer, "BEGIN IMMEDIATE"), sql)
        before = writer.total_changes
        try:
            cursor = await writer.execute(sql)
            kept: list[Row] = []
            columns: tuple[str, ...] = ()
            dropped = 0
            if cursor.description is not None:
                columns = tuple(str(d[0]) for d in cursor.description)
                while batch := await cursor.fetchmany(1000):
                    room = max(0, ROWS_KEPT - len(kept))
                    kept.extend(batch[:room])
                    dropped += len(batch) - len(batch[:room])
            await cursor.close()
        except driver.Error as error:
            await self.rollback()
            raise self.error_of(error, sql) from None
        outcome = Outcome(changed=writer.total_changes - before, pending=writer.in_transaction)
        if columns:
            outcome.cursor = KeptRows(columns, kept)
        if dropped:
            outcome.notes.append(f"{dropped} more returned rows are not shown")
        return outcome

    @property
    def in_transaction(self) -> bool:
        return self._writer is not None and bool(self._writer.in_transaction)

    async def commit(self) -> None:
        if self.in_transaction:
            # A result read while the write waited (its grid scrolled) holds a statement
            # open on the read connection, and its shared lock would keep the COMMIT
            # waiting until the busy timeout: close it; its next page runs it again.
            async with self.lock:
                for result in list(self._results):
                    await result.close()
            await self.guarded(fetch_all(self._writer, "COMMIT"), "COMMIT")

    async def rollback(self) -> None:
        if self.in_transaction:
            with contextlib.suppress(driver.Error):
                await asyncio.shield(fetch_all(self._writer, "ROLLBACK"))

    async def explain(self, sql: str) -> PlanNode:
        rows = await self.guarded(fetch_all(self.reader, f"EXPLAIN QUERY PLAN {sql}"), sql)
        nodes: dict[int, tuple[str, list[int]]] = {0: ("QUERY PLAN", [])}
        for node_id, parent, _unused, detail in rows:
            nodes[int(node_id)] = (str(detail), [])
            nodes.setdefault(int(parent), ("", []))[1].append(int(node_id))

        def build(node_id: int) -> PlanNode:
            label, children = nodes[node_id]
            return PlanNode(label, tuple(build(c) for c in children))

        return build(0)

    async def release(self, why: str, *, idle_for: float = 0.0) -> bool:
        current = self._current
        if current is None:
            return False
        async with self.lock:
            if time.monotonic() - current.last_read < idle_for or current.idle:
                return False
            await current.close()  # its next page runs the statement again
            return True

    async def interrupt(self) -> None:
        await self.reader.interrupt()
        if self._writer is not None:
            await self._writer.interrupt()

    async def aclose(self) -> None:
        await self.rollback()
        with contextlib.suppress(driver.Error, ValueError):
            await self._end_current()
        for conn in (self.reader, self._writer):
            if conn is not None:
                with contextlib.suppress(driver.Error, ValueError):
                    await asyncio.shield(conn.close())
        if self._snapshot is not None:
            import shutil

            shutil.rmtree(self._snapshot, ignore_errors=True)
