"""Tests cancellation, concurrent runners and SIGKILL at random points on real files."""

from __future__ import annotations

import asyncio
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from migrate_helpers import (
    REPO,
    integrity,
    tracking_rows,
    wait_for_readers_locked_out,
    write_folder,
)

from dbinspect.errors import MigrationError
from dbinspect.migrate import migration_status, run_migrations
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.records import MigrationEvent
from dbinspect.migrate.sqlite_tx import LOCK_POLL_MS, attach_cancellation, retry_while_busy
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import DatabaseUrl, parse_url

RUNNER = (
    "import sys; from dbinspect.cli_migrate import migrate; "
    "migrate(['run', '--database-url', sys.argv[1], '--source', sys.argv[2]])"
)
ROWS = 150_000
SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) "
HANG_S = 20.0
"""How long a test waits for what comes at once (a run ending after Ctrl+C, a lock wait
starting) before calling it hung: no machine's reaction comes near it, and it stays short
of the 30 s that SQLite's own lock wait (or a runner's) would hold an exit back."""


def logged_folder(folder: Path, count: int, rows: int) -> Path:
    """Migrations that each create a table, fill it, and log their version once."""
    files = {"0001_log.sql": "CREATE TABLE log (version INTEGER NOT NULL);\n"}
    for v in range(2, count + 1):
        files[f"{v:04}_step.sql"] = (
            f"CREATE TABLE t{v} (i INTEGER);\n"
            f"INSERT INTO t{v} {SLOW.format(rows=rows)}SELECT i FROM n;\n"
            f"INSERT INTO log VALUES ({v});\n"
        )
    return write_folder(folder, files)


def runner(url: str, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, url, str(folder)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def dbinspect_migrate(subcommand: str, db_path: Path, folder: Path) -> subprocess.Popen[bytes]:
    """`dbinspect migrate SUBCOMMAND` on `db_path` and `folder`, as a user runs it."""
    command = [sys.executable, "-m", "dbinspect", "migrate", subcommand]
    command += ["--database-url", f"sqlite:{db_path}", "--source", str(folder)]
    return subprocess.Popen(
        command,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def interrupt(process: subprocess.Popen[bytes]) -> str:
    """Press Ctrl+C: check the run ends (see HANG_S) with exit code 130; its stderr."""
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=HANG_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError(f"the run was still going {HANG_S:g} s after Ctrl+C") from None
    assert process.returncode == 130, err
    return err.decode()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = HANG_S) -> None:
    """Poll `condition` until it holds; fail naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        time.sleep(0.01)


def file_grows(path: Path, by: int = 1 << 20) -> Callable[[], bool]:
    """Whether `path` has grown by `by` bytes since now: a long INSERT's rows reached it."""
    start = path.stat().st_size
    return lambda: path.stat().st_size >= start + by


def journal_written(db_path: Path) -> bool:
    """Whether a transaction has written to the (truncated, kept) rollback journal."""
    journal = Path(f"{db_path}-journal")
    return journal.exists() and journal.stat().st_size > 0


def has_open(process: subprocess.Popen[bytes], path: Path) -> bool:
    """Whether `process` holds `path` open (read from /proc)."""
    fds = Path(f"/proc/{process.pid}/fd")
    target = str(path.resolve())
    for fd in fds.iterdir() if fds.exists() else ():
        try:
            if os.readlink(fd) == target:
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def read_lines(process: subprocess.Popen[bytes], count: int) -> None:
    """Read the first `count` lines `process` prints, or until it exits."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + HANG_S
    while seen.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no line {count} printed within {HANG_S:g} s: {seen!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            return
        seen += chunk


def check_consistent(db_path: Path, count: int, rows: int) -> int:
    """Every migration is either wholly applied and recorded, or absent. Returns how many."""
    integrity(db_path)
    conn = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
        recorded = {r[0] for r in tracking_rows(db_path)} if "_sqlx_migrations" in tables else set()
        assert all(r[2] == 1 for r in tracking_rows(db_path)) if recorded else True
        if 1 not in recorded:
            assert "log" not in tables
            return 0
        logged = [r[0] for r in conn.execute("SELECT version FROM log ORDER BY version")]
        assert logged == sorted(recorded - {1})  # each applied exactly once, with its row
        for v in range(2, count + 1):
            assert (f"t{v}" in tables) == (v in recorded)
            if v in recorded:
                assert conn.execute(f"SELECT count(*) FROM t{v}").fetchone() == (rows,)
        return len(recorded)
    finally:
        conn.close()


def test_eight_concurrent_runners_apply_each_migration_once(tmp_path: Path) -> None:
    folder = logged_folder(tmp_path / "m", 25, 2000)
    db_path = tmp_path / "app.db"
    processes = [runner(f"sqlite:{db_path}", folder) for _ in range(8)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 8, outputs
    applied_lines = [
        line
        for out, _ in outputs
        for line in out.decode().splitlines()
        if line.startswith("Applied")
    ]
    assert len(applied_lines) == 25  # each migration reported by exactly one runner
    assert check_consistent(db_path, 25, 2000) == 25


def test_sigkill_at_random_points_never_leaves_half_a_migration(tmp_path: Path) -> None:
    folder = logged_folder(tmp_path / "m", 12, ROWS)
    rng = random.Random(20260101)
    db_path = tmp_path / "app.db"
    # A random point within one migration's span, however fast this machine runs one.
    started = time.monotonic()
    assert runner(f"sqlite:{db_path}", folder).wait(timeout=60) == 0
    one_migration = (time.monotonic() - started) / 12
    db_path.unlink()
    kills_mid_run = 0
    partial = 0
    done = 0
    for _ in range(50):
        process = runner(f"sqlite:{db_path}", folder)
        # Kill after a random number of this run's migrations have committed (each
        # prints its line), some way into the next one.
        read_lines(process, rng.randrange(12 - done))
        time.sleep(rng.uniform(0, 1) * one_migration)
        if process.poll() is None:
            kills_mid_run += 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        done = check_consistent(db_path, 12, ROWS)
        partial += 0 < done < 12
        if done == 12:  # start over so later kills land in the middle again
            db_path.unlink()
            done = 0
    assert kills_mid_run >= 20
    assert partial >= 10  # many kills landed between the first and the last migration


async def test_cancel_interrupts_and_rolls_back(tmp_path: Path, db_url: DatabaseUrl) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_quick.sql": "CREATE TABLE a (x);\n",
            "2_slow.sql": "CREATE TABLE b (x);\n"
            f"INSERT INTO b {SLOW.format(rows=10**9)}SELECT i FROM n;\n",
        },
    )
    assert db_url.path is not None
    db_path = Path(db_url.path)
    slow_started = asyncio.Event()

    def on_event(event: MigrationEvent) -> None:
        if event.kind == "started" and event.version == 2:
            slow_started.set()

    task = asyncio.create_task(run_migrations(db_url, folder, on_event=on_event))
    await asyncio.wait_for(slow_started.wait(), HANG_S)
    inserting = file_grows(db_path)
    await asyncio.to_thread(wait_until, inserting, "the slow INSERT's rows reaching the file")
    task.cancel()
    # An INSERT of 10**9 rows left running would take many minutes.
    finished, _ = await asyncio.wait({task}, timeout=HANG_S)
    assert finished, f"the run went on {HANG_S:g} s after the cancel"
    with pytest.raises(asyncio.CancelledError):
        await task
    writer = sqlite3.connect(db_url.path, timeout=0.1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # not locked out: the transaction is gone
    writer.execute("ROLLBACK")
    names = {r[0] for r in writer.execute("SELECT name FROM sqlite_schema")}
    assert "b" not in names and "a" in names
    statuses = await migration_status(db_url, folder)
    assert [s.status for s in statuses] == ["applied", "pending"]


async def test_failure_in_no_transaction_file_records_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "x.db"
    folder = write_folder(
        tmp_path / "m",
        {"1_nt.sql": "-- no-transaction\nCREATE TABLE a (x);\nINSERT INTO z VALUES (1);\n"},
    )
    with pytest.raises(Exception, match="stay applied"):
        await run_migrations(parse_url(str(db_path)), folder)
    assert tracking_rows(db_path) == []


def test_ctrl_c_on_the_command_line_interrupts_and_rolls_back(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_quick.sql": "CREATE TABLE a (x);\n",
            "2_slow.sql": "CREATE TABLE b (x);\n"
            f"INSERT INTO b {SLOW.format(rows=10**9)}SELECT i FROM n;\n",
        },
    )
    db_path = tmp_path / "app.db"
    process = dbinspect_migrate("run", db_path, folder)
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"Applied 1/migrate quick")
    wait_until(file_grows(db_path), "the slow INSERT's rows reaching the file")
    assert interrupt(process).strip() == "error: interrupted"
    # Rolled back before the exit: no hot journal left for the next opener to replay.
    assert not Path(f"{db_path}-journal").exists()
    writer = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # not locked out: the transaction is gone
    writer.execute("ROLLBACK")
    names = {r[0] for r in writer.execute("SELECT name FROM sqlite_schema")}
    writer.close()
    assert "a" in names and "b" not in names
    rows = tracking_rows(db_path)
    assert [r[0] for r in rows] == [1]
    assert int(str(rows[0][4])) > 0  # the applied one's time was written before the exit
    integrity(db_path)


# A writer that dies mid-transaction after its journal reached the disk.
KILLED_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 10")  # spill to the file, so the journal is hot
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO big SELECT randomblob(1000) FROM big")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_status_beside_a_killed_writers_journal_is_one_clear_error(tmp_path: Path) -> None:
    db_path = tmp_path / "app.db"
    setup = sqlite3.connect(db_path)
    setup.execute("CREATE TABLE big (b)")
    setup.execute(f"INSERT INTO big {SLOW.format(rows=2000)}SELECT randomblob(1000) FROM n")
    setup.commit()
    setup.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db_path)], check=False)
    assert killed.returncode == -signal.SIGKILL
    journal = Path(f"{db_path}-journal")
    before = (db_path.read_bytes(), journal.read_bytes())
    folder = write_folder(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (x);\n"})
    process = dbinspect_migrate("info", db_path, folder)
    _, stderr = process.communicate(timeout=30)
    err = stderr.decode()
    assert process.returncode == 1
    assert err.count("\n") == 1
    assert err.startswith("error: ") and "left a journal to roll back" in err
    assert (db_path.read_bytes(), journal.read_bytes()) == before  # reading changed nothing


def test_a_cancel_between_statements_still_stops_the_next_one(tmp_path: Path) -> None:
    # The flag set while no statement runs (an interrupt then does nothing): the next
    # statement must still stop at once, not run to its end.
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None, check_same_thread=False)
    cancellation = Cancellation()
    attach_cancellation(cancellation, conn)
    cancellation.event.set()
    outcome: list[str] = []

    def slow_statement() -> None:
        try:
            conn.execute(f"CREATE TABLE t AS {SLOW.format(rows=10**9)}SELECT i FROM n")
        except sqlite3.OperationalError as error:
            outcome.append(str(error))
        else:
            outcome.append("ran to its end")

    thread = threading.Thread(target=slow_statement)
    thread.start()
    thread.join(HANG_S)  # run to its end, 10**9 rows take many minutes
    stopped_by_itself = not thread.is_alive()
    if not stopped_by_itself:
        conn.interrupt()
        thread.join()
    assert stopped_by_itself
    assert outcome == ["interrupted"]
    cancellation.detach()
    conn.execute("CREATE TABLE u (x)")  # detached: statements run again
    conn.close()


def test_ctrl_c_while_the_commit_waits_for_a_reader(tmp_path: Path) -> None:
    # A COMMIT waits for readers to finish; SQLite's own busy wait would hold Ctrl+C
    # back for up to 30 s. The wait is cut short and the migration rolled back.
    db_path = tmp_path / "app.db"
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("CREATE TABLE seen (x)")
    folder = write_folder(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (x);\n"})
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM seen").fetchall()  # holds a shared lock
    process = dbinspect_migrate("run", db_path, folder)
    # Creating the tracking table already waits on the reader, with new readers held off.
    wait_for_readers_locked_out(db_path, HANG_S)
    assert process.poll() is None
    interrupt(process)
    reader.execute("COMMIT")
    names = {r[0] for r in reader.execute("SELECT name FROM sqlite_schema")}
    reader.close()
    assert names == {"seen"}  # neither the tracking table nor the migration's table
    integrity(db_path)


def test_ctrl_c_does_not_wait_for_a_reader_to_record_execution_times(tmp_path: Path) -> None:
    # After a cancel the applied migrations' times get one short try: a reader that
    # keeps the final commit waiting must not hold the exit back.
    folder = write_folder(
        tmp_path / "m",
        {
            "1_quick.sql": "CREATE TABLE a (x);\n",
            "2_slow.sql": f"CREATE TABLE b AS {SLOW.format(rows=10**9)}SELECT i FROM n;\n",
        },
    )
    db_path = tmp_path / "app.db"
    process = dbinspect_migrate("run", db_path, folder)
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b"Applied 1/migrate quick")
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM a").fetchall()  # holds a shared lock
    wait_until(lambda: journal_written(db_path), "the slow migration's transaction writing")
    interrupt(process)  # ends while the reader still holds its lock
    reader.execute("COMMIT")
    reader.close()
    rows = tracking_rows(db_path)
    assert [(r[0], r[4]) for r in rows] == [(1, -1)]  # applied; its time was given up
    integrity(db_path)


class WriteLock:
    """Another connection holding `db_path`'s write lock until `release()`."""

    def __init__(self, db_path: Path) -> None:
        self.conn = sqlite3.connect(db_path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.conn.execute("COMMIT")
            self.conn.close()
            self.held = False


def test_busy_waits_end_with_the_lock_a_cancel_or_the_deadline(tmp_path: Path) -> None:
    db_path = tmp_path / "x.db"
    sqlite3.connect(db_path).execute("CREATE TABLE t (x)").connection.close()
    writer = sqlite3.connect(db_path, timeout=LOCK_POLL_MS / 1000, isolation_level=None)
    attempts: list[bool] = []  # whether the lock was held at each try of the statement

    def insert(lock: WriteLock, on_try: Callable[[int], None]) -> Callable[[], object]:
        def attempt() -> object:
            on_try(len(attempts) + 1)
            attempts.append(lock.held)
            return writer.execute("INSERT INTO t VALUES (1)")

        return attempt

    lock = WriteLock(db_path)  # released while it waits: the statement then runs

    def release_at_third(attempt: int) -> None:
        if attempt == 3:
            lock.release()

    retry_while_busy(insert(lock, release_at_third), threading.Event())
    assert attempts == [True, True, False]  # refused twice, then ran once the lock was free

    attempts.clear()
    lock = WriteLock(db_path)  # cancelled while it waits
    cancel = threading.Event()

    def cancel_at_second(attempt: int) -> None:
        if attempt == 2:
            cancel.set()

    with pytest.raises(CancelledInWorker):
        retry_while_busy(insert(lock, cancel_at_second), cancel)
    assert attempts == [True, True]  # no further try after the cancel, the lock still held
    lock.release()

    attempts.clear()
    lock = WriteLock(db_path)  # out of patience
    with pytest.raises(MigrationError, match=r"stayed locked for 1 s"):
        retry_while_busy(insert(lock, lambda _: None), threading.Event(), wait_s=1.0)
    assert len(attempts) >= 2 and all(attempts)  # it waited, trying again, until the deadline
    lock.release()
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (1,)
    writer.close()


def test_ctrl_c_while_another_program_holds_the_database(tmp_path: Path) -> None:
    # Even opening the database waits for another program's exclusive lock; that wait
    # too ends at Ctrl+C instead of after SQLite's 30 s.
    db_path = tmp_path / "app.db"
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("CREATE TABLE z (x)")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO z VALUES (1)")
    folder = write_folder(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (x);\n"})
    process = dbinspect_migrate("run", db_path, folder)
    # Holding the file open, it can go no further than waiting for the lock.
    wait_until(lambda: has_open(process, db_path), "the run opening the database")
    assert process.poll() is None
    assert interrupt(process).strip() == "error: interrupted"
    other.execute("ROLLBACK")
    names = {r[0] for r in other.execute("SELECT name FROM sqlite_schema")}
    other.close()
    assert names == {"z"}
