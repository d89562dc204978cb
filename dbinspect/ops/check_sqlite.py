"""SQLite's own checks for `check`: `integrity_check` and `foreign_key_check`, read-only.

The file is opened as every inspection opens it (`plan_read_only_open`): nothing is
created or changed beside it, whatever its journal mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_files import check_database_file, plan_read_only_open
from dbinspect.errors import OperationError
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker

PROGRESS_STEPS = 1000
"""SQLite instructions between two calls of the progress handler.

SQLite (3.44 and later) also calls the handler while `integrity_check` walks the b-trees
inside one instruction, so the check can be followed and stopped throughout. A call per
thousand steps costs about 0.1% of the check, measured on the 470 MB benchmark file.
"""


_DAMAGED = (driver.SQLITE_CORRUPT, driver.SQLITE_NOTADB)


class IntegrityProgress(NamedTuple):
    """How far `integrity_check` has gone: SQLite gives no total, so steps and time."""

    steps: int
    """SQLite instructions run so far (in thousands of `PROGRESS_STEPS`)."""
    elapsed_s: float


ProgressHandler = Callable[[IntegrityProgress], None]


class ForeignKeyViolation(NamedTuple):
    """One row of `PRAGMA foreign_key_check`."""

    table: str
    rowid: int | None
    parent: str
    constraint: int

    def describe(self) -> str:
        """One line naming the row and the table it fails to reference."""
        row = f"rowid {self.rowid}" if self.rowid is not None else "a row"
        return f"{self.table} {row}: no matching row in {self.parent} (key {self.constraint})"


class SqliteIntegrity(NamedTuple):
    """What SQLite says about the file's structure and its foreign keys."""

    problems: tuple[str, ...]
    """`integrity_check`'s messages; empty when it says `ok`."""
    foreign_keys: tuple[ForeignKeyViolation, ...]


def check_sqlite_file(
    path: Path,
    *,
    on_progress: ProgressHandler | None = None,
    cancellation: Cancellation | None = None,
) -> SqliteIntegrity:
    """Run `integrity_check` and `foreign_key_check` on `path`, changing nothing.

    Args:
        path: The database file.
        on_progress: Called now and then while the integrity check runs (on this thread).
        cancellation: Stops the check from another thread (Ctrl+C).

    Raises:
        ConnectError: The file is not a readable SQLite database.
        OperationError: SQLite could not run the checks (the file is too damaged).
        CancelledInWorker: `cancellation` was cancelled.
    """
    plan = plan_read_only_open(check_database_file(path))
    cancellation = cancellation or Cancellation()
    conn = _open(plan.uri, path)
    handle = cancellation.attach(conn.interrupt)
    try:
        # foreign_key_check reads on a second connection meanwhile: SQLite leaves the GIL
        # while it runs, so on a second core it costs no time beside integrity_check.
        with ThreadPoolExecutor(1, thread_name_prefix="dbinspect-fk") as pool:
            keys = pool.submit(_foreign_keys_apart, plan.uri, path, cancellation)
            _follow(conn, on_progress, cancellation)
            problems = _integrity(conn, path, cancellation)
            conn.set_progress_handler(None, 0)
            foreign_keys = keys.result()
    finally:
        cancellation.detach(handle)
        conn.close()
        if plan.snapshot_dir is not None:
            import shutil

            shutil.rmtree(plan.snapshot_dir, ignore_errors=True)
    return SqliteIntegrity(problems, foreign_keys)


def _open(uri: str, path: Path) -> driver.Connection:
    try:
        return driver.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0
        )
    except driver.Error as error:
        raise OperationError(f"{path}: cannot open: {error}") from error


def _foreign_keys_apart(
    uri: str, path: Path, cancellation: Cancellation
) -> tuple[ForeignKeyViolation, ...]:
    """`_foreign_keys` on a connection of its own (the calling thread's)."""
    conn = _open(uri, path)
    handle = cancellation.attach(conn.interrupt)
    try:
        if cancellation.event.is_set():
            raise CancelledInWorker
        return _foreign_keys(conn, path, cancellation)
    finally:
        cancellation.detach(handle)
        conn.close()


def _follow(
    conn: driver.Connection, on_progress: ProgressHandler | None, cancellation: Cancellation
) -> None:
    """Report progress and honour a cancel that lands between two statements."""
    started = time.monotonic()
    steps = 0

    def handler() -> int:
        nonlocal steps
        steps += 1
        if on_progress is not None:
            on_progress(IntegrityProgress(steps * PROGRESS_STEPS, time.monotonic() - started))
        return 1 if cancellation.event.is_set() else 0

    conn.set_progress_handler(handler, PROGRESS_STEPS)


def _run(
    conn: driver.Connection, sql: str, path: Path, cancellation: Cancellation
) -> list[tuple[object, ...]]:
    try:
        return conn.execute(sql).fetchall()
    except driver.Error as error:
        if cancellation.event.is_set():
            raise CancelledInWorker from error
        raise OperationError(f"{path}: {sql} failed: {error}") from error


def _integrity(conn: driver.Connection, path: Path, cancellation: Cancellation) -> tuple[str, ...]:
    try:
        rows = _run(conn, "PRAGMA integrity_check", path, cancellation)
    except OperationError as error:
        # Damage that stops the check itself (a garbled page SQLite must read to go on)
        # is the check's finding, not a failure to run it.
        if driver.primary_code(error.__cause__ or error) in _DAMAGED:
            return (f"the check stopped early: {error.__cause__}",)
        raise
    messages = tuple(str(row[0]) for row in rows)
    return () if messages == ("ok",) else messages


def _foreign_keys(
    conn: driver.Connection, path: Path, cancellation: Cancellation
) -> tuple[ForeignKeyViolation, ...]:
    try:
        rows = _run(conn, "PRAGMA foreign_key_check", path, cancellation)
    except OperationError as error:
        if driver.primary_code(error.__cause__ or error) in _DAMAGED:
            return ()  # what stops it is damage, which integrity_check reports
        raise
    return tuple(
        ForeignKeyViolation(
            str(table), rowid if isinstance(rowid, int) else None, str(parent), int(str(fkid))
        )
        for table, rowid, parent, fkid in rows
    )
