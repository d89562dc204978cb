"""Keeps sqlx's tracking table on PostgreSQL and applies one migration at a time, atomically.

Exactly sqlx's PostgreSQL flavour: its tracking table, a session-level advisory lock on
sqlx's key for the whole run (so dbinspect and an app embedding `sqlx::migrate!` never
migrate at once), each file with its tracking row in one transaction, and
`-- no-transaction` files sent whole, as one simple query, as sqlx sends them (so
`CREATE INDEX CONCURRENTLY` works when it is the file's only statement).

Where it differs, it is in speed alone: a transactional file's statements go to the
server one by one in a single pipeline (one round trip, and the failing statement can
still be named), and only the run's last commit waits for the disk (see
`PgStore._defer_wal_flushes`).
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from dbinspect import pg_driver as driver
from dbinspect.errors import MigrationError, MigrationFailedError
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.migrator import baseline_refusal
from dbinspect.migrate.pg_dialect import POSTGRES, checked_table_name
from dbinspect.migrate.records import (
    AppliedMigration,
    InvalidIndex,
    Migration,
    applied_from_row,
    checked_version,
)
from dbinspect.migrate.statements import Statement
from dbinspect.url import DatabaseUrl

Connection = driver.Connection[tuple[Any, ...]]

SQLX_LOCK_FACTOR = 0x3D32AD9E
"""sqlx's advisory lock key is this times the CRC-32 of the database's name."""
_ENDS_TRANSACTION = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"})
"""Keywords of statements that end the implicit transaction a file sent whole runs in."""
IDLE_SESSION_TIMEOUT_SINCE = 140000
"""The server version that brought `idle_session_timeout` and
`client_connection_check_interval` (PostgreSQL 14)."""


def sqlx_lock_key(database: str) -> int:
    """sqlx's `generate_lock_id`: 0x3d32ad9e * CRC-32/ISO-HDLC of the database name."""
    return SQLX_LOCK_FACTOR * zlib.crc32(database.encode())


class PgStore:  # implements migrate.store.MigrationStore
    """The tracking table and migration transactions of one PostgreSQL database.

    Args:
        conn: An autocommit connection; transactions here are explicit.
        table: The tracking table's name, as sqlx writes it into SQL.
        url: The database, for messages.
        cancellation: Stops the run from another thread: a cancel request to the server.
    """

    dialect: Dialect = POSTGRES

    def __init__(
        self, conn: Connection, table: str, url: DatabaseUrl, cancellation: Cancellation
    ) -> None:
        self.conn = conn
        self.table = table
        self.url = url
        self.cancellation = cancellation
        self._handles = [cancellation.attach(conn.cancel_safe)]
        self._locked = False
        self._lock_key = 0
        self._untimed: tuple[int, int] | None = None
        """(version, ns) of an applied migration whose execution_time is still -1."""
        self._deferred_flush = False
        """Commits return before the server's WAL reaches the disk (see `_defer_wal_flushes`)."""

    @classmethod
    def open(
        cls,
        url: DatabaseUrl,
        table: str,
        *,
        write: bool = False,
        cancellation: Cancellation | None = None,
    ) -> PgStore:
        """Connect for migrations (`write`) or for reading the tracking table.

        A reading connection is an inspection one: read-only, with statement and lock
        timeouts. A writing one sets its application name and no timeout at all, not even
        the server's idle one: a migration may take as long as it takes.

        Raises:
            ConnectError: The server cannot be reached or refuses the connection.
            ConfigError: The tracking table's name is not one sqlx can use.
        """
        checked_table_name(table)
        conn = driver.connect(url, read_only=not write, value_formats=False)
        if write:
            try:
                _settle_migration_session(conn)
            except driver.Error as error:
                conn.close()
                raise driver.connect_error(url, error) from error
        return cls(conn, table, url, cancellation or Cancellation())

    def close(self) -> None:
        """Close the connections; the server releases the advisory lock with its session."""
        for handle in self._handles:
            self.cancellation.detach(handle)
        self._handles = []
        self.conn.close()

    def _lost_or(self, error: driver.Error, message: str) -> MigrationError:
        if driver.server_lost(error) or self.conn.closed:
            return MigrationError(driver.lost_message(self.url), "check the server and run again")
        return MigrationError(f"{message}: {_first_line(error)}")

    def _check_cancel(self, error: BaseException | None = None) -> None:
        if self.cancellation.event.is_set():
            raise CancelledInWorker from error

    def _query(
        self,
        sql: str,
        params: tuple[object, ...] = (),
        what: str = "cannot read the tracking table",
    ) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql.encode(), params or None).fetchall()
        except driver.Error as error:
            self._check_cancel(error)
            raise self._lost_or(error, what) from error

    def table_exists(self) -> bool:
        """Whether the tracking table exists, found by the server as sqlx's SQL finds it."""
        return self._query("SELECT to_regclass(%s) IS NOT NULL", (self.table,))[0][0] is True

    def invalid_indexes(self) -> list[InvalidIndex]:
        """Every index a failed `CREATE INDEX CONCURRENTLY` left INVALID, by schema and name.

        An index another session is building concurrently is invalid until its build
        ends: one that `pg_stat_progress_create_index` (PostgreSQL 12 on) shows in
        progress is left out.
        """
        building = (
            "AND NOT EXISTS (SELECT FROM pg_stat_progress_create_index p "
            "WHERE p.index_relid = i.indexrelid) "
            if self.conn.info.server_version >= 120_000
            else ""
        )
        rows = self._query(
            "SELECT n.nspname, c.relname, t.oid::regclass::text, pg_get_indexdef(i.indexrelid), "
            "format('%I.%I', n.nspname, c.relname) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class t ON t.oid = i.indrelid "
            f"WHERE NOT i.indisvalid {building}ORDER BY 1, 2",
            what="cannot read the indexes",
        )
        return [
            InvalidIndex(str(schema), str(name), str(table), str(definition), str(sql_name))
            for schema, name, table, definition, sql_name in rows
        ]

    def list_applied(self) -> list[AppliedMigration]:
        """Every tracking row, by version; empty when there is no tracking table."""
        if not self.table_exists():
            return []
        rows = self._query(
            "SELECT version, description, installed_on::text, success, checksum, "
            f"execution_time FROM {self.table} ORDER BY version"
        )
        return [applied_from_row(row, self.table) for row in rows]

    def dirty_version(self) -> int | None:
        """The lowest version whose tracking row says it failed, if any."""
        if not self.table_exists():
            return None
        rows = self._query(
            f"SELECT version FROM {self.table} WHERE success = false ORDER BY version LIMIT 1"
        )
        return checked_version(rows[0][0], self.table) if rows else None

    def ensure_table(self) -> None:
        """Create the tracking table with sqlx's exact DDL when it is missing."""
        ddl = f"""
CREATE TABLE IF NOT EXISTS {self.table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
                """
        if self.table_exists():
            return  # CREATE ... IF NOT EXISTS would still need the schema's CREATE right
        try:
            self.conn.execute(ddl.encode())
        except driver.Error as error:
            self._check_cancel(error)
            raise self._lost_or(error, "cannot create the tracking table") from error

    def lock(self) -> None:
        """Take sqlx's advisory lock on the migration session itself, waiting for its holder.

        Session-level, as sqlx's, and on the session that runs the migrations, as sqlx
        takes it: the lock cannot be lost while the run goes on, since a session that
        ends (terminated, timed out, its network gone) takes the run's statements with it.
        Released by `unlock` or by the server when the session ends. A cancel while
        waiting sends the server a cancel request for the wait.
        """
        try:
            self._check_cancel()
            database = self.conn.execute(b"SELECT current_database()").fetchone()
            assert database is not None
            self._lock_key = sqlx_lock_key(database[0])
            self.conn.execute(b"SELECT pg_advisory_lock(%s)", (self._lock_key,))
        except driver.Error as error:
            self._check_cancel(error)
            raise self._lost_or(error, "cannot take the migration lock") from error
        self._locked = True

    def unlock(self) -> None:
        """Release the advisory lock (the session's end releases it too)."""
        if not self._locked:
            return
        self._locked = False
        try:
            self.conn.execute(b"SELECT pg_advisory_unlock(%s)", (self._lock_key,))
        except driver.Error:
            pass  # the session is gone, and the lock with it

    def restamp(self, version: int, checksum: bytes) -> None:
        """Store `checksum` as the applied checksum of `version`."""
        try:
            self.conn.execute(
                f"UPDATE {self.table} SET checksum = %s WHERE version = %s".encode(),
                (checksum, version),
            )
        except driver.Error as error:
            raise self._lost_or(error, f"cannot restamp migration {version}") from error

    def record_baseline(self, migrations: list[Migration]) -> None:
        """Record `migrations` as applied, unrun, if the tracking table is still empty."""
        rows = [(m.version, m.description, m.checksum) for m in migrations]
        try:
            with self.conn.transaction():
                # Under sqlx's advisory lock (see `lock`) no runner can insert meanwhile.
                found = self.conn.execute(f"SELECT count(*) FROM {self.table}".encode())
                existing = int(found.fetchone()[0])  # type: ignore[index]
                if existing:
                    raise baseline_refusal(existing, self.table)
                with self.conn.cursor() as cursor:
                    # sqlx's INSERT with the time it would have measured for nothing: 0 ns.
                    cursor.executemany(
                        f"INSERT INTO {self.table} ( version, description, success, checksum, "
                        "execution_time ) VALUES ( %s, %s, TRUE, %s, 0 )".encode(),
                        rows,
                    )
        except driver.Error as error:
            self._check_cancel(error)
            raise self._lost_or(error, "cannot record the baseline") from error

    def apply(
        self, migration: Migration, statements: list[Statement], *, down: bool = False
    ) -> int | None:
        """Run one migration (or its down file) together with its tracking row.

        Returns:
            The duration in nanoseconds (never None: the advisory lock keeps other
            runners out for the whole run).

        Raises:
            MigrationFailedError: A statement failed; the transaction was rolled back.
            MigrationError: The connection was lost; nothing of this file was recorded.
            CancelledInWorker: After the statement was cancelled and rolled back.
        """
        self._check_cancel()
        no_tx = migration.down_no_transaction if down else migration.no_transaction
        sql = migration.down_sql if down else migration.up_sql
        assert sql is not None
        if not down and not self._deferred_flush:
            self._defer_wal_flushes()
        start = time.perf_counter_ns()
        if no_tx:
            self._run_whole_file(migration, sql, statements, down)
        elif (
            "\\" in sql and self.conn.info.parameter_status("standard_conforming_strings") == "off"
        ):
            # An earlier migration turned standard_conforming_strings off: a backslash then
            # escapes a quote, where the split (as the server parses by default) ends the
            # string. The file goes whole, as sqlx sends it, and the server splits it.
            self._run_file_in_transaction(migration, sql, down)
        else:
            self._run_in_transaction(migration, statements, down)
        elapsed = time.perf_counter_ns() - start
        self._untimed = None if down else (migration.version, elapsed)
        return elapsed

    def _run_in_transaction(
        self, migration: Migration, statements: list[Statement], down: bool
    ) -> None:
        """The file's statements and its tracking row in one transaction, in one pipeline.

        Everything from BEGIN to COMMIT goes to the server at once and comes back in one
        round trip; the server still runs the statements one by one, in order, and stops
        at the first that fails, which is then the first without a result.
        """
        conn = self.conn
        untimed = self._untimed
        cursors: list[driver.Cursor] = []
        recorded: driver.Cursor | None = None
        try:
            self._check_cancel()
            with conn.pipeline(), conn.transaction():
                # The previous migration's time rides along instead of costing a commit.
                self._write_untimed()
                for statement in statements:
                    cursor = conn.cursor()
                    cursor.execute(statement.sql.encode())
                    cursors.append(cursor)
                recorded = self._record(migration, down)
                self._check_cancel()
        except BaseException as error:
            # The previous migration's time went down with this transaction: it is
            # written afterwards, by `flush_execution_time`, as sqlx writes each one.
            self._untimed = untimed
            if not isinstance(error, driver.Error):
                raise
            self._check_cancel(error)
            failed = next(
                (s for s, c in zip(statements, cursors, strict=False) if c.pgresult is None),
                None,
            )
            if driver.server_lost(error) or conn.closed:
                raise self._lost_or(error, "") from error
            if failed is None and recorded is not None and recorded.pgresult is not None:
                # Every statement ran and the tracking row was written: a deferred
                # constraint failed at COMMIT, and the whole file went with it.
                raise self._failure(
                    migration, down, None, error, "rolled back", "commit"
                ) from error
            if failed is None:
                raise self._lost_or(
                    error, f"migration {migration.version} could not be recorded"
                ) from error
            raise self._failure(migration, down, failed, error, "rolled back") from error

    def _run_file_in_transaction(self, migration: Migration, sql: str, down: bool) -> None:
        """The file sent whole (simple protocol) with its tracking row, in one transaction."""
        conn, untimed = self.conn, self._untimed
        try:
            self._check_cancel()
            with conn.transaction():
                self._write_untimed()
                conn.execute(sql.encode())
                self._record(migration, down)
        except driver.Error as error:
            self._untimed = untimed
            self._check_cancel(error)
            if driver.server_lost(error) or conn.closed:
                raise self._lost_or(error, "") from error
            raise self._failure(migration, down, None, error, "rolled back") from error

    def _run_whole_file(
        self, migration: Migration, sql: str, statements: list[Statement], down: bool
    ) -> None:
        try:
            self._write_untimed()
            self.conn.execute(sql.encode())
        except driver.Error as error:
            self._check_cancel(error)
            if driver.server_lost(error) or self.conn.closed:
                raise self._lost_or(error, "") from error
            failed = _statement_at(statements, sql, error)
            own_end = next((s for s in statements if s.keyword in _ENDS_TRANSACTION), None)
            if own_end is not None:
                outcome = (
                    f"this -- no-transaction file ends its own transaction ({own_end.label()}): "
                    "what ran before that may be committed"
                )
            elif len(statements) > 1:
                outcome = (
                    "this -- no-transaction file was sent whole, as sqlx sends it, and the "
                    "server ran it as one implicit transaction, rolled back"
                )
            else:
                outcome = "the server rolled the statement back"
            outcome += "; no tracking row was written"
            # A concurrent build commits its index before building it: a failed one
            # stays behind, INVALID, and the next run's build would fail on its name.
            invalid = [i.sql_name for i in self._invalid_after_failure()]
            if invalid:
                outcome += (
                    f"; INVALID indexes are left: {', '.join(invalid)} "
                    "(drop them before running again)"
                )
            raise self._failure(migration, down, failed, error, outcome) from error
        try:
            self._record(migration, down)
        except driver.Error as error:
            raise self._lost_or(
                error, f"migration {migration.version} ran but could not be recorded"
            ) from error

    def _invalid_after_failure(self) -> list[InvalidIndex]:
        try:
            return self.invalid_indexes()
        except MigrationError:
            return []

    def _record(self, migration: Migration, down: bool) -> driver.Cursor:
        if down:
            return self.conn.execute(
                f"DELETE FROM {self.table} WHERE version = %s".encode(), (migration.version,)
            )
        else:
            return self.conn.execute(
                f"INSERT INTO {self.table} ( version, description, success, checksum, "
                "execution_time ) VALUES ( %s, %s, TRUE, %s, -1 )".encode(),
                (migration.version, migration.description, migration.checksum),
            )

    def _write_untimed(self) -> None:
        untimed, self._untimed = self._untimed, None
        if untimed is not None:
            self.conn.execute(
                f"UPDATE {self.table} SET execution_time = %s WHERE version = %s".encode(),
                (untimed[1], untimed[0]),
            )

    def _defer_wal_flushes(self) -> None:
        """Let this run's commits return without waiting for the disk; the last one waits.

        With `synchronous_commit = off` a commit returns once its WAL is written, not
        synced: on this kind of run, the sync of each migration's commit is most of its
        time. Nothing becomes inconsistent: the WAL is replayed in order, so a server
        crash in the middle of the run loses only the newest migrations, each whole with
        its tracking row, as if the run had stopped there. The final commit of the run
        (`flush_execution_time`, before the lock is released) runs at the session's own
        setting again, and waits for everything before it: a run that reports success has
        all of it on disk, as with sqlx.
        """
        try:
            self.conn.execute(b"SET synchronous_commit = off")
        except driver.Error as error:
            self._check_cancel(error)
            raise self._lost_or(error, "cannot start the run") from error
        self._deferred_flush = True

    def flush_execution_time(self) -> None:
        """Write the last applied migration's execution_time, after its commit as sqlx does.

        Within a run, each time rides along in the next migration's transaction instead
        of costing a commit of its own: a run killed or cut off during that migration
        leaves the previous one's -1 (sqlx leaves -1 only when stopped between a commit
        and its own UPDATE); the tracking row and the migration are whole either way.
        This commit waits for the disk, and for every commit before it.
        """
        try:
            if self._deferred_flush:
                self._deferred_flush = False
                self.conn.execute(b"RESET synchronous_commit")
                if self._untimed is None:
                    # Nothing to write, yet earlier commits of the run may not be on disk:
                    # a write that commits at the session's setting waits for them.
                    self.conn.execute(
                        f"UPDATE {self.table} SET execution_time = execution_time "
                        f"WHERE version = (SELECT max(version) FROM {self.table})".encode()
                    )
            self._write_untimed()
        except driver.Error:
            pass

    def _failure(
        self,
        migration: Migration,
        down: bool,
        statement: Statement | None,
        error: driver.Error,
        outcome: str,
        where: str = "the file",
    ) -> MigrationFailedError:
        path = migration.down_path if down and migration.down_path else migration.path
        applied = self.list_applied()
        at_version = max((a.version for a in applied if a.success), default=0)
        verb = "revert" if down else "migration"
        label = statement.label() if statement is not None else where
        if outcome == "rolled back":
            outcome = "rolled back; the database is as it was before this migration"
        return MigrationFailedError(
            f"{verb} {migration.version} ({migration.description}) failed at {label}: "
            f"{_first_line(error)}; {outcome}",
            version=migration.version,
            path=str(path),
            statement=label,
            at_version=at_version,
            hint=f"fix {path.name} and run again",
        )


def _settle_migration_session(conn: Connection) -> None:
    """Keep a migration session alive while idle, and end it soon after its client dies.

    It holds the advisory lock for the whole run, idle between migrations: a server set
    to end idle sessions (`idle_session_timeout`) would end it and let another runner in.
    And when this process is killed, the server would otherwise run the statement in
    flight to its end, holding the lock all along: `client_connection_check_interval`
    makes it notice the closed socket, roll back and release the lock within a second.

    Raises:
        driver.Error: The connection failed.
    """
    if conn.info.server_version >= IDLE_SESSION_TIMEOUT_SINCE:
        conn.execute(b"SET idle_session_timeout = 0; SET client_connection_check_interval = 1000")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _statement_at(statements: list[Statement], sql: str, error: driver.Error) -> Statement | None:
    """The statement a whole-file error points into, when the server says where."""
    position = getattr(getattr(error, "diag", None), "statement_position", None)
    if len(statements) == 1:
        return statements[0]
    if not position:
        return None
    offset = int(position) - 1
    start = 0
    for statement in statements:
        found = sql.find(statement.sql, start)
        if found == -1:
            break
        start = found + len(statement.sql)
        if offset < start:
            return statement
    return None


def read_invalid_indexes(url: DatabaseUrl) -> list[InvalidIndex]:
    """The INVALID indexes of the URL's database, read on an inspection connection."""
    store = PgStore.open(url, "_sqlx_migrations")
    try:
        return store.invalid_indexes()
    finally:
        store.close()
