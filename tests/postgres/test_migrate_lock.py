"""Tests sqlx's advisory lock on PostgreSQL: concurrent runners, and a lock held elsewhere.

dbinspect takes the lock sqlx takes, on sqlx's key, so that it never migrates at the same
time as another dbinspect or an application embedding `sqlx::migrate!`.
"""

from __future__ import annotations

import signal
import zlib
from pathlib import Path

import psycopg
from pg_migrate_helpers import (
    HANG_S,
    database_name,
    dbinspect_backends,
    start_cli,
    tables,
    tracking_rows,
    wait_until,
    write_folder,
)
from pgkit import query, run_sql

from dbinspect.migrate.pg_store import sqlx_lock_key

COUNT = 25


def sqlx_key(database: str) -> int:
    """sqlx's `generate_lock_id`, written out again here: 0x3d32ad9e * CRC-32 of the name."""
    return 0x3D32AD9E * zlib.crc32(database.encode("utf-8"))


def logged_folder(folder: Path) -> Path:
    """Migrations that each create a table and log their version in a table without a key."""
    files = {"0001_log.sql": "CREATE TABLE log (version int NOT NULL);\n"}
    for v in range(2, COUNT + 1):
        files[f"{v:04}_step.sql"] = (
            f"CREATE TABLE t{v} (i int);\n"
            f"INSERT INTO t{v} SELECT generate_series(1, 1000);\n"
            f"INSERT INTO log VALUES ({v});\n"
        )
    return write_folder(folder, files)


def test_the_key_is_sqlxs() -> None:
    # Values sqlx computes (CRC-32/ISO-HDLC is zlib's CRC-32).
    assert sqlx_lock_key("test") == sqlx_key("test") == 0x3D32AD9E * 0xD87F7E0C
    assert sqlx_lock_key("ünï") == sqlx_key("ünï")
    assert sqlx_lock_key("") == 0


def test_eight_concurrent_runners_apply_each_migration_once(pg_url: str, tmp_path: Path) -> None:
    folder = logged_folder(tmp_path / "migrations")
    runners = [
        start_cli("migrate", "run", "--database-url", pg_url, "--source", folder, cwd=tmp_path)
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=180) for p in runners]
    assert [p.returncode for p in runners] == [0] * 8, outputs
    applied = [line for out, _ in outputs for line in out.splitlines() if line]
    assert all(line.startswith("Applied ") for line in applied), applied
    assert len(applied) == COUNT  # each migration reported by exactly one runner
    assert [r[0] for r in query(pg_url, "SELECT version FROM log ORDER BY version")] == list(
        range(2, COUNT + 1)
    )  # each migration's SQL ran exactly once
    rows = tracking_rows(pg_url)
    assert [r[0] for r in rows] == list(range(1, COUNT + 1))
    assert all(r[2] is True and isinstance(r[4], int) and r[4] > 0 for r in rows)
    assert tables(pg_url) == {"_sqlx_migrations", "log"} | {f"t{v}" for v in range(2, COUNT + 1)}


def test_a_lock_held_on_sqlxs_key_makes_the_runner_wait(pg_url: str, tmp_path: Path) -> None:
    write_folder(
        tmp_path / "migrations",
        {"1_a.sql": "CREATE TABLE a (x int);\n", "2_b.sql": "CREATE TABLE b (x int);\n"},
    )
    key = sqlx_key(database_name(pg_url))
    with psycopg.connect(pg_url, autocommit=True) as holder:  # as an app's sqlx holds it
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:

            def waiting_on_the_lock() -> bool:
                return any(
                    (wait_type, wait) == ("Lock", "advisory") and "pg_advisory_lock" in str(sql)
                    for _, _, wait_type, wait, sql in dbinspect_backends(pg_url)
                )

            wait_until(waiting_on_the_lock, "the runner waiting for the advisory lock")
            # It waits before reading or writing anything: not even the tracking table.
            assert tables(pg_url) == set()
            assert runner.poll() is None
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        out, err = runner.communicate(timeout=HANG_S)
    assert runner.returncode == 0, err
    assert [line.split(" (")[0] for line in out.splitlines()] == [
        "Applied 1/migrate a",
        "Applied 2/migrate b",
    ]
    assert [r[0] for r in tracking_rows(pg_url)] == [1, 2]
    # Released at the end: another session takes it at once.
    assert query(pg_url, "SELECT pg_try_advisory_lock(%s)", (key,)) == [(True,)]


def test_the_lock_is_held_for_the_whole_run_and_released_after_a_failure(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE gate (x int)")
    write_folder(
        tmp_path / "migrations",
        {
            "1_a.sql": "CREATE TABLE a (x int);\n",
            "2_wait.sql": "CREATE TABLE b (x int);\nSELECT count(*) FROM gate;\n"
            "INSERT INTO b VALUES (1);\nINSERT INTO nope VALUES (1);\n",
        },
    )
    key = sqlx_key(database_name(pg_url))
    with psycopg.connect(pg_url, autocommit=True) as gatekeeper:
        gatekeeper.execute("BEGIN")
        gatekeeper.execute("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")  # stops migration 2
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:

            def migration_2_waiting() -> bool:
                return any(
                    wait_type == "Lock" and "FROM gate" in str(sql)
                    for _, _, wait_type, _, sql in dbinspect_backends(pg_url)
                )

            wait_until(migration_2_waiting, "migration 2 waiting for the table gate")
            holders = query(
                pg_url,
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = "
                "'dbinspect' AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
                (key,),
            )
            assert holders == [(1,)]  # still held between migrations 1 and 2
            assert query(pg_url, "SELECT pg_try_advisory_lock(%s)", (key,)) == [(False,)]
        finally:
            gatekeeper.execute("ROLLBACK")
        _, err = runner.communicate(timeout=HANG_S)
    assert runner.returncode == 1
    assert "statement 4: INSERT INTO nope VALUES (1)" in err
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    assert tables(pg_url) == {"_sqlx_migrations", "a", "gate"}
    # Released after the failure: another session takes it at once.
    assert query(pg_url, "SELECT pg_try_advisory_lock(%s)", (key,)) == [(True,)]


def test_ctrl_c_while_waiting_for_the_lock_writes_nothing(pg_url: str, tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", {"1_a.sql": "CREATE TABLE a (x int);\n"})
    key = sqlx_key(database_name(pg_url))
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:
            wait_until(
                lambda: any(w == "advisory" for _, _, _, w, _ in dbinspect_backends(pg_url)),
                "the runner waiting for the advisory lock",
            )
            runner.send_signal(signal.SIGINT)
            _, err = runner.communicate(timeout=HANG_S)  # the wait was cancelled on the server
        finally:
            runner.kill()
        assert runner.returncode == 130, err
        assert err.strip() == "error: interrupted"
        assert dbinspect_backends(pg_url) == []  # no session left behind, waiting or not
    assert tables(pg_url) == set()


def test_a_server_ending_idle_sessions_does_not_end_the_lock(pg_url: str, tmp_path: Path) -> None:
    # The lock's session is idle for the whole run; one ended by the server would let
    # another runner in half-way.
    run_sql(pg_url, "CREATE TABLE gate (x int)")
    database = database_name(pg_url)
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET idle_session_timeout = 300')
    write_folder(
        tmp_path / "migrations",
        {"1_a.sql": "CREATE TABLE a (x int);\n", "2_b.sql": "SELECT count(*) FROM gate;\n"},
    )
    with psycopg.connect(pg_url, autocommit=True) as gatekeeper:
        gatekeeper.execute("SET idle_session_timeout = 0")
        gatekeeper.execute("BEGIN")
        gatekeeper.execute("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:
            wait_until(
                lambda: any(t == "Lock" for _, _, t, _, _ in dbinspect_backends(pg_url)),
                "migration 2 waiting for the table gate",
            )
            # Well past the timeout: the lock's session, idle all along, is still there.
            gatekeeper.execute("SELECT pg_sleep(1)")
            assert query(pg_url, "SELECT pg_try_advisory_lock(%s)", (sqlx_key(database),)) == [
                (False,)
            ]
        finally:
            gatekeeper.execute("ROLLBACK")
        _, err = runner.communicate(timeout=HANG_S)
    assert runner.returncode == 0, err
    assert [r[0] for r in tracking_rows(pg_url)] == [1, 2]


def test_a_long_wait_for_the_lock_survives_a_server_ending_idle_sessions(
    pg_url: str, tmp_path: Path
) -> None:
    # While the lock is waited for, the migrations' own session sits idle.
    database = database_name(pg_url)
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET idle_session_timeout = 300')
    write_folder(tmp_path / "migrations", {"1_a.sql": "CREATE TABLE a (x int);\n"})
    key = sqlx_key(database)
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SET idle_session_timeout = 0")
        holder.execute("SELECT pg_advisory_lock(%s)", (key,))
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:
            wait_until(
                lambda: any(w == "advisory" for _, _, _, w, _ in dbinspect_backends(pg_url)),
                "the runner waiting for the advisory lock",
            )
            holder.execute("SELECT pg_sleep(1)")  # well past the timeout
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (key,))
        _, err = runner.communicate(timeout=HANG_S)
    assert runner.returncode == 0, err
    assert [r[0] for r in tracking_rows(pg_url)] == [1]


def advisory_holder(url: str) -> int:
    """The pid of the session holding sqlx's lock on `url`'s database."""
    rows = query(
        url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = %s",
        (sqlx_key(database_name(url)),),
    )
    assert len(rows) == 1, rows
    return int(str(rows[0][0]))


def waiting_for_gate(url: str) -> bool:
    return any(
        t == "Lock" and "FROM gate" in str(sql) for _, _, t, _, sql in dbinspect_backends(url)
    )


def test_the_lock_is_held_by_the_session_that_migrates(pg_url: str, tmp_path: Path) -> None:
    # As sqlx takes it: the session that ends takes the lock and the run with it, so no
    # other runner can get in while a file is still running (a -- no-transaction file
    # would then run twice).
    run_sql(pg_url, "CREATE TABLE gate (x int); CREATE TABLE log (what text)")
    write_folder(
        tmp_path / "migrations",
        {
            "1_a.sql": "CREATE TABLE a (x int);\n",
            "2_charge.sql": "-- no-transaction\n"
            "INSERT INTO log VALUES ('charge'); SELECT count(*) FROM gate;\n",
        },
    )
    with psycopg.connect(pg_url, autocommit=True) as gatekeeper:
        gatekeeper.execute("BEGIN")
        gatekeeper.execute("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")
        first = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        second = None
        try:
            wait_until(lambda: waiting_for_gate(pg_url), "migration 2 waiting for the table gate")
            running = [pid for pid, _, t, _, _ in dbinspect_backends(pg_url) if t == "Lock"]
            assert running == [advisory_holder(pg_url)]
            run_sql(pg_url, f"SELECT pg_terminate_backend({advisory_holder(pg_url)})")
            _, err = first.communicate(timeout=HANG_S)
            second = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
            wait_until(lambda: waiting_for_gate(pg_url), "the second run waiting for gate")
        finally:
            gatekeeper.execute("ROLLBACK")
            first.kill()
        assert second is not None
        out, _ = second.communicate(timeout=HANG_S)
    assert first.returncode == 1 and len(err.strip().splitlines()) == 1, err
    assert second.returncode == 0 and out.startswith("Applied 2/migrate charge"), out
    assert query(pg_url, "SELECT what FROM log") == [("charge",)]  # ran once
    assert [r[0] for r in tracking_rows(pg_url)] == [1, 2]


def test_a_killed_runner_releases_the_lock_without_waiting_for_its_statement(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE gate (x int)")
    write_folder(tmp_path / "migrations", {"1_wait.sql": "SELECT count(*) FROM gate;\n"})
    with psycopg.connect(pg_url, autocommit=True) as gatekeeper:
        gatekeeper.execute("BEGIN")
        gatekeeper.execute("LOCK TABLE gate IN ACCESS EXCLUSIVE MODE")
        runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
        try:
            wait_until(lambda: waiting_for_gate(pg_url), "migration 1 waiting for the table gate")
            runner.kill()
            runner.communicate(timeout=HANG_S)
            # The server notices the closed socket and ends the orphaned session, while
            # the statement it ran would otherwise wait for the gate as long as it is shut.
            wait_until(lambda: dbinspect_backends(pg_url) == [], "the orphaned session to end")
            key = sqlx_key(database_name(pg_url))
            assert query(pg_url, "SELECT pg_try_advisory_lock(%s)", (key,)) == [(True,)]
        finally:
            gatekeeper.execute("ROLLBACK")
    assert tracking_rows(pg_url) == []
