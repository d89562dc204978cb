"""Keeps sqlx's tracking table on SQLite and applies one migration at a time, atomically."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from dbinspect.backends.sqlite import quote_identifier
from dbinspect.backends.sqlite_files import check_database_file
from dbinspect.errors import ConnectError, MigrationError, MigrationFailedError
from dbinspect.migrate import sqlite_tx
from dbinspect.migrate.records import AppliedMigration, Migration
from dbinspect.migrate.sqlite_tx import CancelledInWorker, Job, StatementFailedError
from dbinspect.migrate.statements import Statement
from dbinspect.url import DatabaseUrl

try:  # flock serialises `-- no-transaction` files, which cannot hold BEGIN IMMEDIATE
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")


def check_header(path: Path) -> None:
    """Refuse a path that is not a SQLite database before SQLite touches it.

    A missing or empty file is fine: `migrate run` creates the database, as sqlx does.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise ConnectError(f"{path}: cannot open: {error.strerror}") from error
    if info.st_size == 0 and stat.S_ISREG(info.st_mode):
        return
    check_database_file(path)


class SqliteStore:
    """The tracking table and migration transactions of one SQLite database.

    Args:
        conn: A connection opened with `isolation_level=None` (see `open`).
        table: The tracking table's name (`_sqlx_migrations` unless `sqlx.toml` says).
        path: The database file, None in memory.
    """

    def __init__(self, conn: aiosqlite.Connection, table: str, path: Path | None) -> None:
        self.conn = conn
        self.table = table
        self.path = path
        self._quoted = quote_identifier(table)
        self._untimed: tuple[int, int] | None = None
        """(version, ns) of an applied migration whose execution_time is still -1."""

    @classmethod
    async def open(cls, url: DatabaseUrl, table: str, *, create: bool) -> SqliteStore:
        """Open the database for migrations: autocommit, foreign keys on, busy timeout.

        Args:
            url: The SQLite database.
            table: The tracking table's name.
            create: Create the file when missing (`migrate run`), as sqlx does.
        """
        if url.path is None:
            target, uri = ":memory:", False
        else:
            check_header(url.path)
            mode = url.mode or ("rwc" if create else "rw")
            target, uri = f"{url.path.resolve().as_uri()}?mode={mode}", True
        try:
            # isolation_level=None: no implicit BEGIN; every transaction here is explicit.
            conn = await aiosqlite.connect(
                target,
                timeout=sqlite_tx.BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                uri=uri,
            )
        except sqlite3.Error as error:
            raise ConnectError(f"cannot open {url.masked}: {error}") from error
        try:
            # sqlx's SQLite connections have foreign keys on; a migration must behave the same.
            await conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as error:
            await conn.close()
            raise ConnectError(f"cannot use {url.masked}: {error}") from error
        return cls(conn, table, url.path)

    async def close(self) -> None:
        """Close the connection."""
        await self.conn.close()

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite runs each call on the connection's thread at ~0.1 ms per hop; handing it
        # a whole migration as one function costs one hop instead of one per statement.
        # aiosqlite has no public API for this, hence the two private names.
        conn = cast(Any, self.conn)
        return cast(T, await conn._execute(fn, conn._conn))

    async def table_exists(self) -> bool:
        """Whether the tracking table exists (reading never creates it)."""
        rows = await self.conn.execute_fetchall(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", (self.table,)
        )
        return bool(list(rows))

    async def list_applied(self) -> list[AppliedMigration]:
        """Every tracking row, by version; empty when there is no tracking table."""
        if not await self.table_exists():
            return []
        rows = await self.conn.execute_fetchall(
            "SELECT version, description, installed_on, success, checksum, execution_time "
            f"FROM {self._quoted} ORDER BY version"
        )
        return [
            AppliedMigration(int(v), str(d), str(i), bool(s), bytes(c), int(t))
            for v, d, i, s, c, t in rows
        ]

    async def ensure_table(self) -> None:
        """Create the tracking table if it is missing, under the write lock."""
        if await self.table_exists():
            return
        # The exact DDL sqlx runs, so the table is the one sqlx would have made.
        ddl = f"""
CREATE TABLE IF NOT EXISTS {self.table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);
"""
        await self._write(lambda conn: conn.execute(ddl))

    async def restamp(self, version: int, checksum: bytes) -> None:
        """Store `checksum` as the applied checksum of `version`."""
        sql = f"UPDATE {self._quoted} SET checksum = ? WHERE version = ?"
        await self._write(lambda conn: conn.execute(sql, (checksum, version)))

    async def _write(self, action: Callable[[sqlite3.Connection], object]) -> None:
        def transaction(conn: sqlite3.Connection) -> None:
            sqlite_tx.begin_immediate(conn, threading.Event())
            try:
                action(conn)
                conn.execute("COMMIT")
            except BaseException:
                sqlite_tx.rollback(conn)
                raise

        await self._call(transaction)

    async def apply(
        self, migration: Migration, statements: list[Statement], *, down: bool = False
    ) -> int | None:
        """Run one migration (or its down file) together with its tracking row.

        Returns:
            The duration in nanoseconds, or None when another process already did it.

        Raises:
            MigrationFailedError: A statement failed; the transaction was rolled back.
            DirtyDatabaseError: A failed row appeared meanwhile.
            asyncio.CancelledError: After the statement was interrupted and rolled back.
        """
        job = Job(self._quoted, migration, statements, down, self._untimed)
        no_tx = migration.down_no_transaction if down else migration.no_transaction
        if no_tx:
            async with self._file_lock():
                await self._run_job(job, sqlite_tx.run_outside_transaction)
        else:
            await self._run_job(job, sqlite_tx.run_in_transaction)
        self._settle(job, down)
        return job.elapsed if job.committed else None

    async def apply_batch(
        self,
        items: list[tuple[Migration, list[Statement]]],
        *,
        down: bool,
        on_started: Callable[[Migration], None],
        on_finished: Callable[[Migration, int | None], None],
    ) -> None:
        """Run transactional migrations one after another in a single hop to the thread.

        Each still commits on its own, exactly as `apply` would; only the round trip to
        the event loop between migrations goes (it costs more than a small migration).
        Progress reaches the loop as each one starts and ends, in order.

        Raises:
            The same as `apply`, for the first migration that fails; those before it stay
            applied and have been reported through `on_finished`.
        """
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        current: list[Job] = []

        def run_all(conn: sqlite3.Connection) -> None:
            for migration, statements in items:
                job = Job(self._quoted, migration, statements, down, self._untimed, cancel)
                current[:] = [job]
                loop.call_soon_threadsafe(on_started, migration)
                sqlite_tx.run_in_transaction(conn, job)
                self._settle(job, down)
                elapsed = job.elapsed if job.committed else None
                loop.call_soon_threadsafe(on_finished, migration, elapsed)

        future = asyncio.ensure_future(self._call(run_all))
        await self._await_worker(future, cancel, lambda: current[0] if current else None)

    def _settle(self, job: Job, down: bool) -> None:
        """Track which applied migration still has execution_time -1 after `job`."""
        if job.untimed is None or job.committed:
            self._untimed = None
        if job.committed and not down:
            self._untimed = (job.migration.version, job.elapsed)

    async def _run_job(self, job: Job, runner: Callable[[sqlite3.Connection, Job], None]) -> None:
        future = asyncio.ensure_future(self._call(lambda conn: runner(conn, job)))
        await self._await_worker(future, job.cancel, lambda: job)

    async def _await_worker(
        self,
        future: asyncio.Future[None],
        cancel: threading.Event,
        current: Callable[[], Job | None],
    ) -> None:
        """Wait for work on the connection's thread, turning its failures into ours."""
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            # The worker thread goes on by itself: stop the statement, let it roll back,
            # and wait for that (ignoring further cancels) before giving up.
            cancel.set()
            await self.conn.interrupt()
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({future})
            if not future.cancelled():
                future.exception()  # retrieved: it is the interruption we asked for
            raise
        except CancelledInWorker as error:  # pragma: no cover - only set on our cancel
            raise asyncio.CancelledError from error
        except StatementFailedError as error:
            job = current()
            assert job is not None  # a statement failed, so a job was running
            raise await self._failure(job, error) from error.error
        except sqlite3.Error as error:
            job = current()
            version = job.migration.version if job else "?"
            raise MigrationError(f"migration {version} could not be recorded: {error}") from error

    async def _failure(self, job: Job, error: StatementFailedError) -> MigrationFailedError:
        migration, down = job.migration, job.down
        path = migration.down_path if down and migration.down_path else migration.path
        no_tx = migration.down_no_transaction if down else migration.no_transaction
        applied = await self.list_applied()
        at_version = max((a.version for a in applied if a.success), default=0)
        if no_tx:
            outcome = (
                "this -- no-transaction file ran outside a transaction, so its statements "
                "before this one stay applied; no tracking row was written"
            )
        else:
            outcome = "rolled back; the database is as it was before this migration"
        verb = "revert" if down else "migration"
        label = error.statement.label()
        return MigrationFailedError(
            f"{verb} {migration.version} ({migration.description}) failed at {label}: "
            f"{error.error}; {outcome}",
            version=migration.version,
            path=str(path),
            statement=label,
            at_version=at_version,
            hint=f"fix {path.name} and run again",
        )

    async def flush_execution_time(self) -> None:
        """Write the last applied migration's execution_time, after its commit as sqlx does.

        Within a run, each migration's time rides along in the next migration's
        transaction instead of costing a commit (and an fsync) of its own; the rows end up
        as sqlx leaves them. Losing the time (a kill) leaves -1, as with sqlx.
        """
        untimed, self._untimed = self._untimed, None
        if untimed is not None:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await self._call(
                    partial(sqlite_tx.write_untimed, table=self._quoted, untimed=untimed)
                )

    @contextlib.asynccontextmanager
    async def _file_lock(self) -> AsyncIterator[None]:
        """Hold an exclusive `flock` on the database's folder while a no-transaction file runs.

        The folder, not the file: closing any descriptor of the database file would drop
        the POSIX locks SQLite holds on it in this process. The kernel releases a flock
        when its process dies, so a killed runner never leaves it behind.
        """
        if self.path is None or fcntl is None:
            yield
            return
        try:
            fd = os.open(self.path.resolve().parent, os.O_RDONLY)
        except OSError:
            yield
            return
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.02)
            yield
        finally:
            os.close(fd)
