"""Tests that a migration on PostgreSQL is applied whole or not at all, however it stops.

A failing statement, our backend terminated by the server, and Ctrl+C (a cancel request
to the server) each leave the database as it was before that migration, with no tracking
row for it, and say so in one line.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
from pg_migrate_helpers import (
    HANG_S,
    dbinspect_backends,
    run_cli,
    start_cli,
    tables,
    tracking_rows,
    wait_until,
    write_folder,
)
from pgkit import query

from dbinspect.errors import MigrationError, MigrationFailedError
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.runner import migration_status, run_migrations
from dbinspect.url import parse_url

SLEEPING = {
    "1_quick.sql": "CREATE TABLE a (x int);\n",
    "2_slow.sql": "CREATE TABLE b (x int);\nINSERT INTO b VALUES (1);\nSELECT pg_sleep(30);\n",
}


def sleeping_backend(url: str) -> int | None:
    """The pid of dbinspect's backend running `pg_sleep`, if one is."""
    for pid, state, _, _, sql in dbinspect_backends(url):
        if state == "active" and "pg_sleep" in str(sql):
            return int(str(pid))
    return None


def test_statement_three_of_five_leaves_no_trace(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "migrations",
        {
            "1_base.sql": "create table kept (x int);\n",
            "2_broken.sql": (
                "create table a (x int);\n"
                "insert into a values (1);\n"
                "insert into nope values (2);\n"
                "create table b (x int);\n"
                "insert into b values (3);\n"
            ),
        },
    )
    url = parse_url(pg_url)
    with pytest.raises(MigrationFailedError) as caught:
        run_migrations(url, folder)
    error = caught.value
    assert error.statement == "statement 3: insert into nope values (2)"
    assert (error.version, error.at_version) == (2, 1)
    assert error.path.endswith("2_broken.sql")
    assert tables(pg_url) == {"_sqlx_migrations", "kept"}
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    assert int(str(tracking_rows(pg_url)[0][4])) > 0  # 1's time, though 2 was rolled back
    assert [s.status for s in migration_status(url, folder)] == ["applied", "pending"]

    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "error: migration 2 (broken) failed at statement 3: insert into nope values (2): "
        'relation "nope" does not exist'
    )
    assert "rolled back" in line
    assert tables(pg_url) == {"_sqlx_migrations", "kept"}
    assert [r[0] for r in tracking_rows(pg_url)] == [1]


def test_a_terminated_backend_records_nothing_and_says_so_in_one_line(
    pg_url: str, tmp_path: Path
) -> None:
    write_folder(tmp_path / "migrations", SLEEPING)
    runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    try:
        wait_until(lambda: sleeping_backend(pg_url) is not None, "migration 2 sleeping")
        pid = sleeping_backend(pg_url)
        assert query(pg_url, "SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
        out, err = runner.communicate(timeout=HANG_S)
    finally:
        runner.kill()
    assert runner.returncode == 1
    assert out.splitlines()[0].startswith("Applied 1/migrate quick")
    [line] = err.splitlines()
    assert line.startswith("error: the connection to postgresql://")
    assert "was lost" in line
    assert "Traceback" not in err
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    assert tables(pg_url) == {"_sqlx_migrations", "a"}
    assert not any("pg_sleep" in str(row[4]) for row in dbinspect_backends(pg_url))


def test_ctrl_c_cancels_the_statement_on_the_server(pg_url: str, tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", SLEEPING)
    runner = start_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    try:
        wait_until(lambda: sleeping_backend(pg_url) is not None, "migration 2 sleeping")
        runner.send_signal(signal.SIGINT)
        # Well before the 30 s sleep would end by itself: the server stopped it.
        out, err = runner.communicate(timeout=HANG_S)
    finally:
        runner.kill()
    assert runner.returncode == 130, err
    assert err.strip() == "error: interrupted"
    assert out.splitlines() == [out.splitlines()[0]]  # migration 1 only
    # Cancelled on the server: closing the socket alone would leave the backend asleep.
    assert sleeping_backend(pg_url) is None
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    assert tables(pg_url) == {"_sqlx_migrations", "a"}
    # The applied one's time was written before the exit.
    assert int(str(tracking_rows(pg_url)[0][4])) > 0


def test_a_cancel_stops_the_statement_on_the_server(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", SLEEPING)
    url = parse_url(pg_url)
    cancellation = Cancellation()
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            run_migrations(url, folder, cancellation=cancellation)
            outcome.append(None)
        except BaseException as error:  # handed to the test below
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        wait_until(lambda: sleeping_backend(pg_url) is not None, "migration 2 sleeping")
        pid = sleeping_backend(pg_url)
        cancellation.cancel()
        # The backend itself stops sleeping: a cancel request. A dropped socket would not
        # do it: a backend in pg_sleep does not look at its client until the sleep ends.
        wait_until(
            lambda: not query(
                pg_url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND query LIKE "
                "'%%pg_sleep%%' AND state = 'active'", (pid,)
            ),
            "the server to stop the sleep",
        )  # fmt: skip
    finally:
        worker.join(HANG_S)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], CancelledInWorker)
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    assert tables(pg_url) == {"_sqlx_migrations", "a"}


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", {"1_a.sql": "CREATE TABLE a (x int);\n"})
    for url, fragment in [
        ("postgresql://postgres@127.0.0.1:1/test", "nothing is listening there"),
        ("postgresql://postgres@127.0.0.1:5432/dbi_no_such_db", "database does not exist"),
    ]:
        result = run_cli("migrate", "run", "-D", url, cwd=tmp_path)
        assert result.returncode == 1
        [line] = result.stderr.splitlines()
        assert line.startswith("error: cannot connect to ") and fragment in line, line


def test_a_lost_connection_is_a_migration_error(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", SLEEPING)
    url = parse_url(pg_url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            run_migrations(url, folder)
        except BaseException as error:  # handed to the test below
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        wait_until(lambda: sleeping_backend(pg_url) is not None, "migration 2 sleeping")
        query(pg_url, "SELECT pg_terminate_backend(%s)", (sleeping_backend(pg_url),))
    finally:
        worker.join(HANG_S)
    [error] = errors
    assert type(error) is MigrationError
    assert "was lost" in error.message
    assert [s.status for s in migration_status(url, folder)] == ["applied", "pending"]


def test_the_failing_statement_is_named_wherever_it_is(pg_url: str, tmp_path: Path) -> None:
    url = parse_url(pg_url)
    cases = {
        "1_first.sql": ("SELECT 1/0;\nCREATE TABLE a (x int);\n", "statement 1: SELECT 1/0"),
        "1_last.sql": ("CREATE TABLE a (x int);\nSELECT x/0 FROM (VALUES (1)) v(x);\n",
                       "statement 2: SELECT x/0 FROM (VALUES (1)) v(x)"),
        "1_nt.sql": ("-- no-transaction\nCREATE TABLE a (x int);\nSELEC 2;\n",
                     "statement 2: SELEC 2"),
    }  # fmt: skip
    for name, (sql, label) in cases.items():
        folder = write_folder(tmp_path / name, {name: sql})
        with pytest.raises(MigrationFailedError) as caught:
            run_migrations(url, folder)
        assert caught.value.statement == label
        assert tables(pg_url) <= {"_sqlx_migrations"}
        assert tracking_rows(pg_url) == []


def test_a_migration_that_breaks_its_own_tracking_row_is_rolled_back(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_a.sql": "CREATE TABLE a (x int);\n",
            "2_drop.sql": "CREATE TABLE b (x int);\nDROP TABLE _sqlx_migrations;\n",
        },
    )
    with pytest.raises(MigrationError, match="migration 2 could not be recorded"):
        run_migrations(parse_url(pg_url), folder)
    assert tables(pg_url) == {"_sqlx_migrations", "a"}  # the DROP went down with it
    assert [r[0] for r in tracking_rows(pg_url)] == [1]


def test_a_deferred_constraint_failing_at_commit_names_the_file(
    pg_url: str, tmp_path: Path
) -> None:
    write_folder(
        tmp_path / "migrations",
        {
            "1_fk.sql": "CREATE TABLE p (id int PRIMARY KEY);\n"
            "CREATE TABLE c (p int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
            "INSERT INTO c VALUES (1);\n"
        },
    )
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: migration 1 (fk) failed at commit: "), line
    assert "violates foreign key constraint" in line and "rolled back" in line, line
    assert "1_fk.sql" in line  # the hint names the file to fix
    assert tables(pg_url) == {"_sqlx_migrations"}  # p and c went with the commit
    assert tracking_rows(pg_url) == []


def test_a_no_transaction_file_that_commits_says_what_may_be_left(
    pg_url: str, tmp_path: Path
) -> None:
    write_folder(
        tmp_path / "migrations",
        {
            "1_half.sql": "-- no-transaction\nCREATE TABLE half (x int);\nCOMMIT;\n"
            "CREATE TABLE half (x int);\n"
        },
    )
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "ends its own transaction (statement 2: COMMIT)" in line, line
    assert "may be committed" in line and "rolled back" not in line, line
    assert "half" in tables(pg_url)  # as the message warns
    assert tracking_rows(pg_url) == []
