"""Runs one migration's transaction synchronously, on the connection's own thread."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_errors import is_busy
from dbinspect.errors import MigrationError
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.migrator import dirty_error
from dbinspect.migrate.records import Migration
from dbinspect.migrate.statements import Statement

LOCK_POLL_MS = 100
"""Busy timeout of write connections, so a cancel is seen within this time."""
BUSY_TIMEOUT_S = 30.0
"""How long to wait for the write lock, and for readers before a commit."""

T = TypeVar("T")


PROGRESS_STEPS = 10_000
"""SQLite instructions between looks at the cancel flag: a fraction of a millisecond."""


def attach_cancellation(cancellation: Cancellation, conn: driver.Connection) -> int:
    """Make `cancellation` stop `conn`'s statements; returns the handle to detach.

    A cancel that lands between the look at the flag and the start of the next statement
    would miss both, so the connection's progress handler also looks at the flag while
    any statement runs.
    """
    event = cancellation.event

    def stop_requested() -> int:
        return 1 if event.is_set() else 0  # non-zero makes SQLite stop the statement

    def interrupt() -> None:
        with contextlib.suppress(driver.ProgrammingError):  # closed meanwhile
            conn.interrupt()

    conn.set_progress_handler(stop_requested, PROGRESS_STEPS)
    return cancellation.attach(interrupt, lambda: conn.set_progress_handler(None, 0))


class StatementFailedError(Exception):
    """A migration statement failed; carries which one and SQLite's error."""

    def __init__(
        self, statement: Statement, error: driver.Error, *, in_own_transaction: bool = False
    ) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error
        self.in_own_transaction = in_own_transaction
        """It ran inside a transaction its `-- no-transaction` file opened (rolled back)."""


@dataclass(slots=True)
class Job:
    """One migration (or its down file) to run, and what the run leaves behind."""

    table: str
    """The quoted tracking table name."""
    migration: Migration
    statements: list[Statement]
    down: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    untimed: tuple[int, int] | None = None
    """(version, ns) of the previous migration whose execution_time is still -1."""
    planned_at: int | None = None
    """`PRAGMA data_version` when the applied set this job was planned from was read."""
    committed: bool = False
    elapsed: int = 0


def retry_while_busy(
    action: Callable[[], T],
    cancel: threading.Event,
    *,
    wait_s: float = BUSY_TIMEOUT_S,
    stuck: tuple[str, str] = (
        "the database stayed locked",
        "close the other program and try again",
    ),
) -> T:
    """Run `action` again while SQLite reports the database busy, up to `wait_s` or a cancel.

    Write connections keep a short busy timeout (LOCK_POLL_MS) because SQLite's own wait
    cannot be interrupted: a long wait is made of short ones with a look at `cancel`
    between them. Only for what SQLite allows to be tried again after SQLITE_BUSY: BEGIN,
    COMMIT (which keeps its transaction) and statements in autocommit.

    Args:
        stuck: The error message and hint when `wait_s` runs out.
    """
    deadline = time.monotonic() + wait_s
    while True:
        attempt = time.monotonic()
        try:
            return action()
        except driver.OperationalError as error:
            if not is_busy(error):
                raise
            if cancel.is_set():
                raise CancelledInWorker from error
            if time.monotonic() > deadline:
                message, hint = stuck
                raise MigrationError(f"{message} for {wait_s:g} s", hint) from error
            # SQLite skips its busy handler where waiting could deadlock: never spin.
            time.sleep(max(0.0, LOCK_POLL_MS / 1000 - (time.monotonic() - attempt)))


def begin_immediate(conn: driver.Connection, cancel: threading.Event) -> None:
    """Take the write lock, waiting for another writer up to 30 s, giving up on cancel."""
    if cancel.is_set():
        raise CancelledInWorker
    retry_while_busy(
        lambda: conn.execute("BEGIN IMMEDIATE"),
        cancel,
        stuck=(
            "the database stayed locked",
            "another program holds a write lock; close it and try again",
        ),
    )


def commit(conn: driver.Connection, cancel: threading.Event) -> None:
    """COMMIT, waiting for readers to finish; on cancel the caller rolls back."""
    retry_while_busy(
        lambda: conn.execute("COMMIT"),
        cancel,
        stuck=(
            "readers kept the database busy",
            "another program is reading it; close it and try again",
        ),
    )


def rollback(conn: driver.Connection) -> None:
    """Roll back if a transaction is open (SQLite may already have done it itself)."""
    if conn.in_transaction:
        with contextlib.suppress(driver.Error):
            conn.execute("ROLLBACK")


def locked_row(conn: driver.Connection, table: str, version: int) -> bytes | None:
    """Under the lock: refuse a dirty database, else the checksum applied for `version`."""
    rows = conn.execute(
        f"SELECT version, success, checksum FROM {table} "
        "WHERE version = ? OR success = 0 ORDER BY success, version",
        (version,),
    ).fetchall()
    for row_version, success, _ in rows:
        if not success:
            raise dirty_error(int(row_version))
    return bytes(rows[0][2]) if rows else None


def data_version(conn: driver.Connection) -> int:
    """A number that changes whenever another connection commits to the database."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def done_by_another(conn: driver.Connection, job: Job) -> bool:
    """Under the lock: whether another process already applied (or reverted) `job`.

    Only another connection's commit moves `data_version`; while it still reads as it
    did when the plan was made, nothing has changed and the tracking table need not be
    read again (a scan per migration otherwise).

    Raises:
        DirtyDatabaseError: A failed row appeared meanwhile.
    """
    if job.planned_at is not None and data_version(conn) == job.planned_at:
        return False
    applied = locked_row(conn, job.table, job.migration.version) is not None
    return applied != job.down


def write_untimed(conn: driver.Connection, table: str, untimed: tuple[int, int] | None) -> None:
    """Store a finished migration's execution_time, (version, ns)."""
    if untimed is not None:
        conn.execute(
            f"UPDATE {table} SET execution_time = ? WHERE version = ?", (untimed[1], untimed[0])
        )


def execute_statements(conn: driver.Connection, job: Job, *, autocommit: bool = False) -> None:
    """Run the statements one by one, stopping at the first error or a cancel.

    In autocommit each statement is its own transaction, so one refused with SQLITE_BUSY
    left nothing behind and waits for the lock like a BEGIN. Inside a transaction SQLite
    allows no such retry: in the migration's own, the statement fails after the short
    busy timeout; in one a `-- no-transaction` file opens itself, SQLite's busy handler
    waits the long timeout, as under sqlx, and knows when waiting would deadlock.
    """
    for statement in job.statements:
        if job.cancel.is_set():
            raise CancelledInWorker
        own_transaction = autocommit and conn.in_transaction
        try:
            if own_transaction:
                with _busy_timeout(conn, BUSY_TIMEOUT_S):
                    conn.execute(statement.sql)
            elif autocommit:
                retry_while_busy(partial(conn.execute, statement.sql), job.cancel)
            else:
                conn.execute(statement.sql)
        except driver.Error as error:
            if job.cancel.is_set():
                raise CancelledInWorker from error
            raise StatementFailedError(
                statement, error, in_own_transaction=own_transaction
            ) from error


@contextlib.contextmanager
def _busy_timeout(conn: driver.Connection, seconds: float) -> Iterator[None]:
    """Let SQLite itself wait up to `seconds` for locks, then go back to short spells."""
    conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
    try:
        yield
    finally:
        with contextlib.suppress(driver.Error):
            conn.execute(f"PRAGMA busy_timeout = {LOCK_POLL_MS}")


def record(conn: driver.Connection, job: Job) -> None:
    """Insert (up) or delete (down) the migration's tracking row."""
    m = job.migration
    if job.down:
        conn.execute(f"DELETE FROM {job.table} WHERE version = ?", (m.version,))
    else:
        conn.execute(
            f"INSERT INTO {job.table} (version, description, success, checksum, execution_time) "
            "VALUES (?, ?, TRUE, ?, -1)",
            (m.version, m.description, m.checksum),
        )


def run_in_transaction(conn: driver.Connection, job: Job) -> None:
    """Apply or revert one migration and its tracking row in one transaction.

    Re-reads the tracking row under the lock: when another process got there first,
    nothing is done and `job.committed` stays False.
    """
    start = time.perf_counter_ns()
    begin_immediate(conn, job.cancel)
    try:
        if done_by_another(conn, job):
            rollback(conn)
            return
        # The previous migration's time rides along here instead of costing its own commit.
        write_untimed(conn, job.table, job.untimed)
        execute_statements(conn, job)
        record(conn, job)
        if job.cancel.is_set():
            raise CancelledInWorker
        commit(conn, job.cancel)
    except BaseException:
        rollback(conn)
        raise
    job.committed = True
    job.elapsed = time.perf_counter_ns() - start


def run_outside_transaction(conn: driver.Connection, job: Job) -> None:
    """Run a `-- no-transaction` file as sqlx does: statements in autocommit, then the row."""
    retry_while_busy(partial(write_untimed, conn, job.table, job.untimed), job.cancel)
    job.untimed = None
    start = time.perf_counter_ns()
    begin_immediate(conn, job.cancel)
    try:
        done = done_by_another(conn, job)
    finally:
        rollback(conn)
    if done:
        return
    try:
        execute_statements(conn, job, autocommit=True)
    except BaseException:
        rollback(conn)  # a transaction the file opened itself: release its locks now
        raise
    recording = threading.Event()  # the statements ran: record them regardless of a cancel
    begin_immediate(conn, recording)
    try:
        record(conn, job)
        commit(conn, recording)
    except BaseException:
        rollback(conn)
        raise
    job.committed = True
    job.elapsed = time.perf_counter_ns() - start
