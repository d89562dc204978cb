"""Runs a dbmate folder as dbmate runs it: status, run and revert, on SQLite and PostgreSQL.

As dbmate's `Migrate` and `Rollback` (`pkg/dbmate/db.go`): the tracking table is
`create table if not exists` with dbmate's own DDL; each file's section is executed
whole and its version inserted into (or deleted from) `schema_migrations`, both in one
transaction unless the section says `transaction:false`, then each on its own. On
PostgreSQL the section goes to the server whole, in one simple query, as lib/pq sends
it; on SQLite its statements run one after the other, as go-sqlite3 runs a multi-
statement Exec, with foreign keys left at SQLite's default (off), as dbmate leaves them.

The connections are the engine's own (`SqliteStore`, `PgStore`): the same opening
rules, read-only reads, Ctrl+C handling and clean-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from dbinspect.errors import ConnectError, MigrationError, MigrationFailedError
from dbinspect.migrate import dbmate
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.dbmate import DbmateMigration
from dbinspect.migrate.records import MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.url import DatabaseUrl

log = logging.getLogger("dbinspect.migrate")
EventHandler = Callable[[MigrationEvent], None]


class _Sqlite:
    """dbmate's statements on an engine SQLite connection."""

    def __init__(self, url: DatabaseUrl, *, write: bool, cancellation: Cancellation) -> None:
        from dbinspect.migrate.sqlite_store import SqliteStore

        self.store = SqliteStore.open(
            url, dbmate.TABLE, create=write, write=write, cancellation=cancellation
        )
        self.conn = self.store.conn
        self.table = f'"{dbmate.TABLE}"'  # pq.QuoteIdentifier, as dbmate's driver quotes
        if write:
            # dbmate's SQLite connections leave foreign keys at SQLite's default: off.
            self.conn.execute("PRAGMA foreign_keys=OFF")

    def close(self) -> None:
        self.store.close()

    def table_exists(self) -> bool:
        found = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (dbmate.TABLE,)
        ).fetchone()
        return found is not None

    def versions(self) -> list[str]:
        if not self.table_exists():
            return []
        rows = self.conn.execute(f"select version from {self.table} order by version desc")
        return [str(v) for (v,) in rows.fetchall()]

    def ensure_table(self) -> None:
        self.conn.execute(
            f"create table if not exists {self.table} (version varchar(128) primary key)"
        )

    def run(self, file: DbmateMigration, down: bool) -> None:
        from dbinspect.migrate import sqlite_tx
        from dbinspect.migrate.sqlite_dialect import SQLITE
        from dbinspect.migrate.sqlite_tx import Job, StatementFailedError

        m = file.migration
        section = m.down_sql if down else m.up_sql
        assert section is not None
        transaction = file.down_transaction if down else file.up_transaction
        record = (
            (f"delete from {self.table} where version = ?", (file.version_text,))
            if down
            else (f"insert into {self.table} (version) values (?)", (file.version_text,))
        )
        event = self.store.cancellation.event
        job = Job(self.table, m, SQLITE.split(section), down, event)
        try:
            if transaction:
                sqlite_tx.begin_immediate(self.conn, event)
                try:
                    sqlite_tx.execute_statements(self.conn, job)
                    self.conn.execute(*record)
                    sqlite_tx.commit(self.conn, event)
                except BaseException:
                    sqlite_tx.rollback(self.conn)
                    raise
            else:
                sqlite_tx.execute_statements(self.conn, job, autocommit=True)
                sqlite_tx.rollback(self.conn)  # a transaction the section left open
                self.conn.execute(*record)
        except StatementFailedError as error:
            raise _failure(file, down, error.statement.label(), str(error.error)) from error
        except Exception as error:
            if event.is_set():
                raise CancelledInWorker from error
            if isinstance(error, MigrationError):
                raise
            raise _failure(file, down, "recording the version", str(error)) from error


class _Postgres:
    """dbmate's statements on an engine PostgreSQL connection."""

    def __init__(self, url: DatabaseUrl, *, write: bool, cancellation: Cancellation) -> None:
        from dbinspect.migrate.pg_store import PgStore

        self.store = PgStore.open(url, "_sqlx_migrations", write=write, cancellation=cancellation)
        self.conn = self.store.conn
        # dbmate's table: in the current schema, quoted by the server (quote_ident).
        row = self.conn.execute(
            "SELECT current_schema(), quote_ident(current_schema()), quote_ident(%s)",
            (dbmate.TABLE,),
        ).fetchone()
        assert row is not None
        self.schema = str(row[0] or "public")
        self.table = f"{row[1] or 'public'}.{row[2]}"

    def close(self) -> None:
        self.store.close()

    def table_exists(self) -> bool:
        found = self.conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (self.schema, dbmate.TABLE),
        ).fetchone()
        return found is not None

    def versions(self) -> list[str]:
        if not self.table_exists():
            return []
        rows = self.conn.execute(f"select version from {self.table} order by version desc".encode())
        return [str(v) for (v,) in rows.fetchall()]

    def ensure_table(self) -> None:
        self.conn.execute(
            f"create table if not exists {self.table} (version varchar primary key)".encode()
        )

    def run(self, file: DbmateMigration, down: bool) -> None:
        from dbinspect import pg_driver as driver

        m = file.migration
        section = m.down_sql if down else m.up_sql
        assert section is not None
        transaction = file.down_transaction if down else file.up_transaction
        record = (
            f"delete from {self.table} where version = %s"
            if down
            else f"insert into {self.table} (version) values (%s)"
        ).encode()
        conn = self.conn
        stage = "the section"
        try:
            if transaction:
                with conn.transaction():
                    conn.execute(section.encode())
                    stage = "recording the version"
                    conn.execute(record, (file.version_text,))
            else:
                conn.execute(section.encode())
                stage = "recording the version"
                conn.execute(record, (file.version_text,))
        except driver.Error as error:
            if self.store.cancellation.event.is_set():
                raise CancelledInWorker from error
            if driver.server_lost(error) or conn.closed:
                raise MigrationError(
                    driver.lost_message(self.store.url), "check the server and run again"
                ) from error
            raise _failure(
                file, down, stage, driver.error_message(error), whole_query=True
            ) from error


_Connection = _Sqlite | _Postgres


def _open(url: DatabaseUrl, *, write: bool, cancellation: Cancellation | None) -> _Connection:
    cancellation = cancellation or Cancellation()
    if url.backend == "postgres":
        return _Postgres(url, write=write, cancellation=cancellation)
    return _Sqlite(url, write=write, cancellation=cancellation)


def _failure(
    file: DbmateMigration, down: bool, where: str, error: str, *, whole_query: bool = False
) -> MigrationFailedError:
    m = file.migration
    transaction = file.down_transaction if down else file.up_transaction
    if transaction:
        outcome = "rolled back; the database is as it was before this migration"
    elif whole_query and where == "the section":
        outcome = (
            "this transaction:false section was sent whole, as dbmate sends it, and the "
            "server ran it as one implicit transaction, rolled back; the version was not "
            "recorded"
        )
    else:
        outcome = (
            "this transaction:false section ran outside a transaction: what ran before "
            "the failure stays, and the version was not recorded"
        )
    verb = "revert" if down else "migration"
    first = error.strip().splitlines()[0] if error.strip() else "failed"
    return MigrationFailedError(
        f"{verb} {file.version_text} ({m.path.name}) failed at {where}: {first}; {outcome}",
        version=m.version,
        path=str(m.path),
        statement=where,
        at_version=0,
        hint=f"fix {m.path.name} and run again",
    )


def _exists(url: DatabaseUrl) -> bool:
    if url.path is None:
        return True
    try:
        url.path.stat()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise ConnectError(f"{url.path}: cannot open: {error.strerror}") from error
    return True


def _applied(url: DatabaseUrl) -> list[str]:
    if not _exists(url):
        return []
    read_only = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    conn = _open(read_only, write=False, cancellation=None)
    try:
        return conn.versions()
    finally:
        conn.close()


def migration_status(url: DatabaseUrl, folder: Path) -> list[MigrationStatus]:
    """Every file's status and each applied version with no file; changes nothing."""
    files = dbmate.load_dbmate(folder)
    return dbmate.statuses(files, _applied(url))


def _check_expected(plan: list[DbmateMigration], expected: Sequence[int] | None) -> None:
    if expected is None:
        return
    planned = [f.migration.version for f in plan]
    if planned != list(expected):
        shown = ", ".join(str(v) for v in planned) or "nothing"
        raise MigrationError(
            f"the migrations changed since you confirmed: would now run {shown}",
            "review the plan again",
        )


def _result(file: DbmateMigration, direction: Literal["up", "down"], ns: int) -> MigrationResult:
    return MigrationResult(file.migration.version, file.migration.description, direction, ns, ())


def _execute(
    conn: _Connection,
    plan: list[DbmateMigration],
    down: bool,
    on_event: EventHandler | None,
) -> list[MigrationResult]:
    results = []
    for index, file in enumerate(plan):
        m = file.migration
        if on_event is not None:
            on_event(MigrationEvent("started", m.version, m.description, index, len(plan)))
        start = time.perf_counter_ns()
        conn.run(file, down)
        elapsed = time.perf_counter_ns() - start
        log.info("%s %s (%.3f ms)", "reverted" if down else "applied", m.path.name, elapsed / 1e6)
        if on_event is not None:
            on_event(
                MigrationEvent(
                    "finished", m.version, m.description, index, len(plan), duration_ns=elapsed
                )
            )
        results.append(_result(file, "down" if down else "up", elapsed))
    return results


def run_migrations(
    url: DatabaseUrl,
    folder: Path,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    ignore_missing: bool = False,
    on_event: EventHandler | None = None,
    cancellation: Cancellation | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """Apply the pending files in dbmate's order, each as dbmate applies it.

    Every refusal (a file dbmate cannot parse, a duplicate version, an applied version
    with no file, a pending file older than an applied one) comes before anything runs.
    """
    files = dbmate.load_dbmate(folder)

    def plan_from(applied: list[str]) -> list[DbmateMigration]:
        status_list = dbmate.statuses(files, applied)
        dbmate.validate(status_list, ignore_missing=ignore_missing)
        plan = dbmate.plan_run(files, status_list, target_version)
        _check_expected(plan, expected_versions)
        return plan

    plan = plan_from(_applied(url))
    if dry_run:
        return [_result(f, "up", 0) for f in plan]
    conn = _open(url, write=True, cancellation=cancellation)
    try:
        plan = plan_from(conn.versions())  # again: another runner may have moved on
        conn.ensure_table()
        return _execute(conn, plan, False, on_event)
    finally:
        conn.close()


def revert_migrations(
    url: DatabaseUrl,
    folder: Path,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    on_event: EventHandler | None = None,
    cancellation: Cancellation | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """Revert the latest applied file (dbmate's `rollback`), or all above `target_version`."""
    files = dbmate.load_dbmate(folder)

    def plan_from(applied: list[str]) -> list[DbmateMigration]:
        status_list = dbmate.statuses(files, applied)
        dbmate.validate(status_list, ordering=False)
        plan = dbmate.plan_revert(files, status_list, target_version)
        _check_expected(plan, expected_versions)
        return plan

    plan = plan_from(_applied(url))
    if dry_run or not plan:
        return [_result(f, "down", 0) for f in plan]
    conn = _open(url, write=True, cancellation=cancellation)
    try:
        plan = plan_from(conn.versions())
        return _execute(conn, plan, True, on_event)
    finally:
        conn.close()


def applied_literals(url: DatabaseUrl) -> tuple[str, list[str]] | None:
    """The tracking table as dbmate's dump names it, and each applied version as a SQL
    literal (quoted by the database), in order; None without the table. Changes nothing.
    """
    read_only = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    conn = _open(read_only, write=False, cancellation=None)
    try:
        if not conn.table_exists():
            return None
        if isinstance(conn, _Postgres):
            sql = f"select quote_literal(version) from {conn.table} order by version asc"
            rows = conn.conn.execute(sql.encode()).fetchall()
        else:
            sql = f"select quote(version) from {conn.table} order by version asc"
            rows = conn.conn.execute(sql).fetchall()
        return conn.table, [str(v) for (v,) in rows]
    finally:
        conn.close()
