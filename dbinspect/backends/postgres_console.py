"""The query console on PostgreSQL: each statement in its own transaction, read-only
unless write mode asks otherwise.

A query (a `SELECT`, `VALUES`, `TABLE` or `WITH ... SELECT`, as PostgreSQL's own parser
reads it) is declared as a scrollable server-side cursor in a `READ ONLY` transaction,
kept open while its rows are browsed: a page anywhere is a `MOVE ABSOLUTE` and a `FETCH`,
End is one `MOVE ALL` (which counts the rows), and only the page asked for crosses the
network. Anything else runs as it is, and its rows (SHOW, EXPLAIN, a RETURNING) are
kept in memory up to `ROWS_KEPT`. In write mode a statement that is not a query runs in
a `READ WRITE` transaction that the user then commits or rolls back, unless the database
or role is read-only by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from dbinspect import pg_driver as driver
from dbinspect.query.console import (
    ROWS_KEPT,
    KeptRows,
    Outcome,
    PlanNode,
    Row,
    StatementError,
    batch_for,
)
from dbinspect.query.statements import Dialect, statements_in
from dbinspect.url import DatabaseUrl

CURSOR = "dbinspect_result"
EXPORT_CURSOR = "dbinspect_export"
_QUERY_NODES = frozenset({"SelectStmt"})
HEAD_ROWS = 200
"""Rows fetched as a query runs: the first screenful, and the time to it (fewer where
they are long: `batch_for`)."""
HEAD_FIRST = 1
"""Rows fetched first, to learn their size (one more round trip, well spent)."""
STRING_TYPES = frozenset({18, 19, 25, 705, 1042, 1043})
"""The built-in string types: "char", name, text, unknown, bpchar, varchar (a domain
arrives as its base type)."""
FIRST_USER_OID = 16384
"""Types from this oid on (an extension's, a user's) are looked up: citext is a string."""


def is_query(sql: str) -> bool:
    """Whether PostgreSQL's parser reads `sql` as one query that a cursor can hold."""
    try:
        from pglast import parse_sql
        from pglast.enums import CmdType  # noqa: F401  (pglast's AST modules load here)

        statements = parse_sql(sql)
    except Exception:  # a statement pglast cannot parse: the server will say why
        return False
    if len(statements) != 1:
        return False
    node = statements[0].stmt
    if type(node).__name__ not in _QUERY_NODES:
        return False
    if getattr(node, "lockingClause", None) or getattr(node, "intoClause", None):
        return False  # FOR UPDATE locks rows, SELECT INTO makes a table: no cursor takes them
    with_clause = getattr(node, "withClause", None)
    for cte in getattr(with_clause, "ctes", None) or ():
        if type(getattr(cte, "ctequery", None)).__name__ not in _QUERY_NODES:
            return False  # a data-modifying CTE: not a read, and no cursor takes it
    return True


ACTING_OUTSIDE = frozenset(
    {
        "lo_export", "lo_import", "pg_terminate_backend", "pg_cancel_backend",
        "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "pg_switch_wal",
        "pg_create_restore_point", "pg_backup_start", "pg_backup_stop", "pg_start_backup",
        "pg_stop_backup", "pg_log_backend_memory_contexts", "pg_wal_replay_pause",
        "pg_wal_replay_resume", "pg_logical_emit_message", "pg_notify",
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
        "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
        "pg_copy_logical_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",
        "pg_file_write", "pg_file_rename", "pg_file_unlink",
        "pg_file_sync", "dblink", "dblink_exec", "dblink_connect", "dblink_send_query",
        # Large objects: written, created and removed in a READ ONLY transaction all the same.
        "lo_from_bytea", "lo_put", "lo_unlink", "lo_create", "lo_creat", "lo_open",
        "lowrite", "lo_truncate", "lo_truncate64",
        "pg_import_system_collations",
        # SQL in a string, run where no check reads it.
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "ts_stat",
        "ts_rewrite",
        # Session locks, held after the statement: they hold other sessions back (sqlx's
        # migration lock among them) for as long as the console stays open.
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared",
    }
)  # fmt: skip
"""Functions a READ ONLY transaction lets run although they change something: write a
server file or a large object, stop another session, reload or promote the server, reach
another database, run SQL from a string. Read-only mode refuses a statement that calls
one by name; one called through another function (a view, a procedure) still runs with
the connecting role's rights."""
ACTING_OUTSIDE_PREFIXES = ("pg_stat_reset", "pg_stat_statements_reset", "pg_replication_origin_")
"""Families of the same kind: statistics resets, replication origins (server-wide)."""
REFUSED_STATEMENTS = {
    "NotifyStmt": "NOTIFY sends to other sessions",
    "VacuumStmt": "VACUUM and ANALYZE rewrite a table's statistics or files",
    "ReindexStmt": "REINDEX rebuilds indexes",
    "ClusterStmt": "CLUSTER rewrites a table",
    "CheckPointStmt": "CHECKPOINT acts on the whole server",
    "LockStmt": "LOCK holds other sessions back",
    "LoadStmt": "LOAD loads a library into the server",
    "AlterSystemStmt": "ALTER SYSTEM changes the server's configuration",
}
"""Statements a READ ONLY transaction lets run although they act on more than a read."""
_CALLED = re.compile(r'"?([A-Za-z_][A-Za-z0-9_$]*)"?\s*\(')
_LITERALS = re.compile(
    r"[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/"
    r"|\$([A-Za-z_][A-Za-z0-9_]*)?\$.*?\$\1\$",
    re.DOTALL,
)
_QUOTED_NAME = re.compile(r'"((?:[^"]|"")*)"')


def _acting(name: str) -> bool:
    return name in ACTING_OUTSIDE or name.startswith(ACTING_OUTSIDE_PREFIXES)


def acting_outside(sql: str) -> str | None:
    """Why read-only mode refuses `sql`, as `read-only: ...`; None if it does not.

    PostgreSQL's own parser reads it (pglast): a function of `ACTING_OUTSIDE` called
    anywhere in it however its name is written (quoted, `U&"..."`, schema-qualified, in a
    CTE or a PREPARE), or a statement of `REFUSED_STATEMENTS`. Text the parser refuses
    (the server will say why) is searched for those names outside strings and comments.
    """
    try:
        from pglast import ast, parse_sql
        from pglast.visitors import Visitor

        statements = parse_sql(sql)
    except Exception:  # not SQL pglast reads
        return _acting_by_name(sql)
    for raw in statements:
        refusal = REFUSED_STATEMENTS.get(type(raw.stmt).__name__)
        if refusal is not None:
            return f"read-only: {refusal}"
        if isinstance(raw.stmt, ast.DoStmt):
            refusal = _do_refusal(raw.stmt)
            if refusal is not None:
                return refusal

    class Calls(Visitor):
        found: str | None = None

        def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
            name = str(getattr((node.funcname or ("",))[-1], "sval", ""))
            if self.found is None and _acting(name.lower()):
                self.found = name.lower()

    calls = Calls()
    calls(statements)
    return None if calls.found is None else _acting_message(calls.found)


_DYNAMIC_STATEMENTS = frozenset({"PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors"})
"""PL/pgSQL statements that run SQL built at run time (`EXECUTE`, `FOR ... EXECUTE`)."""


def _do_refusal(block: Any) -> str | None:
    """Why read-only mode refuses a DO block: it is not PL/pgSQL (another language may do
    anything), runs SQL built at run time (`EXECUTE`, which no check can read), or one of
    its statements or expressions calls an `ACTING_OUTSIDE` function. PL/pgSQL's own
    parser (pglast) splits the block into them, each then read as SQL."""
    options = {getattr(o, "defname", None): getattr(o.arg, "sval", "") for o in block.args or ()}
    if str(options.get("language") or "plpgsql").lower() != "plpgsql":
        return "read-only: a DO block in a language other than PL/pgSQL is not checked"
    body = str(options.get("as") or "")
    tag = "dbinspect"
    while f"${tag}$" in body:
        tag += "_"
    try:
        from pglast import parse_plpgsql

        tree = parse_plpgsql(f"DO ${tag}${body}${tag}$")
    except Exception:  # the server would refuse it too
        return "read-only: a DO block PL/pgSQL cannot read is not run"
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in _DYNAMIC_STATEMENTS or (key == "dynquery" and value):
                    return "read-only: a DO block that runs EXECUTE runs SQL no check can read"
                if key == "query" and isinstance(value, str):
                    found = acting_outside(value)
                    if found is not None:
                        return found
                pending.append(value)
    return None


def _acting_by_name(sql: str) -> str | None:
    # Quoted names first, whole (a `'` in one would start a string), kept where plain.
    plain = _QUOTED_NAME.sub(lambda m: m.group(1) if m.group(1).isidentifier() else " ", sql)
    for match in _CALLED.finditer(_LITERALS.sub(" ", plain)):
        if _acting(match.group(1).lower()):
            return _acting_message(match.group(1).lower())
    return None


def _acting_message(name: str) -> str:
    return (
        f"read-only: {name}() writes or acts outside the database (large objects, server "
        "files, other sessions, the server itself)"
    )


_OUTSIDE_TRANSACTIONS = frozenset(
    {"VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt", "CreateTableSpaceStmt",
     "DropTableSpaceStmt", "CreateSubscriptionStmt", "DropSubscriptionStmt"}
)  # fmt: skip


def outside_transactions(sql: str) -> bool:
    """Whether PostgreSQL runs `sql` only outside a transaction block: the statements of
    `_OUTSIDE_TRANSACTIONS`, and `CONCURRENTLY` index builds, drops and reindexes."""
    try:
        from pglast import parse_sql

        statements = parse_sql(sql)
    except Exception:  # the server will say why
        return False
    if len(statements) != 1:
        return False
    node = statements[0].stmt
    name = type(node).__name__
    if name in _OUTSIDE_TRANSACTIONS:
        return not (name == "VacuumStmt" and not getattr(node, "is_vacuumcmd", True))
    if name in ("IndexStmt", "DropStmt"):
        return bool(getattr(node, "concurrent", False))
    if name == "ReindexStmt":
        params = getattr(node, "params", None) or ()
        return any(getattr(p, "defname", "") == "concurrently" for p in params)
    return False


def copy_refusal(sql: str, *, write: bool) -> str | None:
    """Why the console does not run `sql`, a `COPY`; None if it runs it (or is no COPY).

    `COPY ... TO STDOUT` and `COPY ... FROM STDIN` exchange their rows with the client
    in a protocol of their own, which a console that reads a statement's rows does not
    speak (nor does a migration: `Dialect.client_refusal`), whatever the mode. Outside
    write mode a `COPY` to or from the server's side is refused too: a `READ ONLY`
    transaction still lets `COPY ... TO` write a file on the server, or run a program
    there.
    """
    from dbinspect.migrate.pg_dialect import copy_shape
    from dbinspect.migrate.statements import Statement

    shape = copy_shape(Statement(1, sql, sql))
    if shape is None:
        return None
    if shape.end == "client" and shape.direction == "TO":
        return (
            "COPY ... TO STDOUT is not supported here (it sends rows only a client such as "
            "psql reads): use a SELECT, or `dbinspect export`"
        )
    if shape.end == "client":
        return (
            "COPY ... FROM STDIN is not supported here (it waits for rows only a client "
            "such as psql sends): use INSERT statements, or COPY from a file on the server"
        )
    if write:
        return None
    if shape.end == "program":
        return "read-only: COPY ... PROGRAM runs a program on the server"
    if shape.direction == "TO":
        return "read-only: COPY ... TO a file writes that file on the server"
    return "read-only: COPY ... FROM a file writes its rows into a table"


def refuse_unless_one_statement(sql: str, *, write: bool = True) -> None:
    """Refuse a text of several statements, or one that starts or ends a transaction.

    Text without parameters goes to the server as a simple query, which runs every
    statement in it: a `COMMIT` there would end the console's `READ ONLY` transaction and
    let the statements after it write. The console owns the transaction, so `BEGIN`,
    `COMMIT` and the like are refused alone too (write mode has its own commit). A `COPY`
    is refused as `copy_refusal` says.

    Raises:
        StatementError: What to do instead.
    """
    found = statements_in(sql, "postgres")
    if len(found) == 1 and found[0].keyword == "COPY":
        refusal = copy_refusal(found[0].sql, write=write)
        if refusal is not None:
            suffix = "; switch write mode on to run it" if refusal.startswith("read-only") else ""
            raise StatementError(refusal + suffix, sql)
    acting = None if write else acting_outside(sql)
    if acting is not None:
        raise StatementError(acting + "; switch write mode on to run it", sql)
    if len(found) > 1:
        raise StatementError("run one statement at a time", sql)
    if found and found[0].controls_transaction:
        raise StatementError(
            "the console runs each statement in its own transaction: "
            "use write mode's commit and rollback instead",
            sql,
        )


class PostgresResultCursor:
    """A query's rows through a scrollable server-side cursor (see the module)."""

    rewinds: Literal["rerun", "scroll"] = "scroll"

    def __init__(
        self,
        console: PostgresConsole,
        sql: str,
        columns: tuple[str, ...],
        head: list[Row],
        non_text: frozenset[int] = frozenset(),
        complete: bool = False,
    ) -> None:
        self._console = console
        self._sql = sql
        self.columns = columns
        self.non_text = non_text
        self._head = head
        """The first rows, fetched while the statement ran (so running includes the wait
        for them, and `esc` cancels it there)."""
        self._position = len(head)
        self._count: int | None = len(head) if complete else None
        self._open = True
        self.last_read = time.monotonic()
        self.released: str | None = None
        """Why the console let go of this result's transaction (`PostgresConsole.release`)."""

    def _readable(self) -> bool:
        self.last_read = time.monotonic()
        if self.released is not None:
            raise StatementError(
                f"this result was closed {self.released}, to release the locks its "
                "transaction held: run the statement again",
                self._sql,
            )
        return self._open

    async def rows(self, offset: int, limit: int) -> list[Row]:
        if offset + limit <= len(self._head) or self._count == len(self._head):
            return self._head[offset : offset + limit]
        # Shielded: a grid cancels the read of a page it no longer needs, and psycopg
        # answers a cancelled task with a cancel on the server, which aborts the
        # transaction and with it this cursor. The read runs to its end instead.
        return await asyncio.shield(self._read(offset, limit))

    async def _read(self, offset: int, limit: int) -> list[Row]:
        async with self._console.lock:
            if not self._readable():
                return []
            if offset != self._position:
                await self._console.send(f'MOVE ABSOLUTE {int(offset)} FROM "{CURSOR}"', self._sql)
            cur = await self._console.send(f'FETCH FORWARD {int(limit)} FROM "{CURSOR}"', self._sql)
            rows = [tuple(r) for r in await cur.fetchall()]
            self._position = offset + len(rows)
            if len(rows) < limit and self._count is None:
                self._count = self._position
            return rows

    async def count(self) -> int:
        if self._count is not None:
            return self._count
        return await asyncio.shield(self._count_rows())  # as `rows`: a cancel would abort

    async def _count_rows(self) -> int:
        async with self._console.lock:
            self._readable()
            await self._console.send(f'MOVE ABSOLUTE 0 FROM "{CURSOR}"', self._sql)
            cur = await self._console.send(f'MOVE FORWARD ALL FROM "{CURSOR}"', self._sql)
            moved = (cur.statusmessage or "MOVE 0").split()[-1]
            self._count = int(moved) if moved.isdigit() else 0
            self._position = self._count
            return self._count

    async def stream(self, batch_rows: int) -> AsyncIterator[list[Row]]:
        async with self._console.lock:
            self._readable()
            await self._console.send(
                f'DECLARE "{EXPORT_CURSOR}" NO SCROLL CURSOR FOR {self._sql}', self._sql
            )
        try:
            while True:
                async with self._console.lock:
                    self._readable()
                    cur = await self._console.send(
                        f'FETCH FORWARD {int(batch_rows)} FROM "{EXPORT_CURSOR}"', self._sql
                    )
                    rows = [tuple(r) for r in await cur.fetchall()]
                if not rows:
                    return
                yield rows
        finally:
            with contextlib.suppress(StatementError):
                async with self._console.lock:
                    await asyncio.shield(self._console.send(f'CLOSE "{EXPORT_CURSOR}"', self._sql))

    async def close(self) -> None:
        self._open = False


class PostgresConsole:
    """One connection of the console to a PostgreSQL database."""

    dialect: Dialect = "postgres"

    def __init__(self, url: DatabaseUrl, conn: Any, read_only: bool) -> None:
        self.url = url
        self.conn: Any = conn
        self.can_write = not read_only
        self.read_only_by_default = False
        """The database or role sets `default_transaction_read_only` (kept in write mode)."""
        self.lock = asyncio.Lock()
        self._pending = False
        self._current: PostgresResultCursor | None = None
        self._string_types: dict[int, bool] = {}
        """Whether each looked-up type (from `FIRST_USER_OID` on) is a string type."""

    @property
    def lost(self) -> bool:
        """The server ended the connection (restart, `pg_terminate_backend`)."""
        return bool(self.conn.closed or self.conn.broken)

    @classmethod
    async def open(cls, url: DatabaseUrl, *, read_only: bool) -> PostgresConsole:
        """Connect (no statement timeout: the user's queries may take long; `esc` stops one).

        Raises:
            ConnectError: The server refuses or cannot be reached.
        """
        conn = await driver.connect_async(url, read_only=False, autocommit=True)
        driver.values_as_text(conn)
        console = cls(url, conn, read_only)
        found = await console.send("SHOW default_transaction_read_only", "")
        console.read_only_by_default = (await found.fetchone())[0] == "on"
        # Outside the console's own transactions nothing may write either.
        await console.send("SET default_transaction_read_only = on", "")
        return console

    async def send(self, statement: str, sql: str, prefix: int = 0) -> Any:
        """Run `statement` (which holds the user's `sql` after `prefix` characters)."""
        try:
            return await self.conn.execute(statement)
        except driver.Error as error:
            raise self._error(error, sql, prefix) from None

    def _error(self, error: BaseException, sql: str, prefix: int) -> StatementError:
        if isinstance(error, driver.QueryCanceled):
            if "statement timeout" in str(error):  # the server's limit, not a cancel
                return StatementError("stopped by the server's statement_timeout", sql)
            return StatementError("cancelled", sql)
        if isinstance(error, driver.pg_errors.ReadOnlySqlTransaction):
            if self.read_only_by_default:
                return StatementError(
                    "read-only: the database is read-only by default "
                    "(default_transaction_read_only = on)",
                    sql,
                )
            return StatementError(
                "read-only: this statement writes; switch write mode on to run it", sql
            )
        if driver.server_lost(error):
            return StatementError(driver.lost_message(self.url), sql)
        position = driver.error_position(error)
        if position is not None:
            position = position - prefix if position >= prefix else None
        return StatementError(driver.error_message(error), sql, position)

    async def _end_transaction(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            await current.close()
        status = self.conn.info.transaction_status
        if status != driver.TransactionStatus.IDLE:
            # A read-only transaction commits: it wrote nothing, and a `SET` in it (a
            # search_path) then lasts, as in psql. A write the user did not commit, or a
            # failed transaction, rolls back.
            end = (
                "COMMIT"
                if status == driver.TransactionStatus.INTRANS and not self._pending
                else "ROLLBACK"
            )
            with contextlib.suppress(driver.Error):
                await asyncio.shield(self.conn.execute(end))
        self._pending = False

    async def release(self, why: str, *, idle_for: float = 0.0) -> bool:
        async with self.lock:
            current = self._current
            if current is None or self._pending:
                return False
            if time.monotonic() - current.last_read < idle_for:
                return False
            await self._end_transaction()
            current.released = why
            return True

    async def run(self, sql: str, *, write: bool = False) -> Outcome:
        refuse_unless_one_statement(sql, write=write)
        async with self.lock:
            await self._end_transaction()
            if is_query(sql):
                return await self._declare(sql)
            if write and not self.can_write:
                raise StatementError("read-only: the database was opened read-only", sql)
            # A database or role read-only by default stays so in write mode, as in psql.
            writes = write and not self.read_only_by_default
            if writes and outside_transactions(sql):
                return await self._run_alone(sql)
            await self.send("BEGIN READ WRITE" if writes else "BEGIN READ ONLY", sql)
            try:
                cur = await self.send(sql, sql)
                outcome = Outcome(changed=cur.rowcount if cur.rowcount >= 0 else None)
                if cur.description is not None:
                    columns = tuple(d.name for d in cur.description)
                    rows = [tuple(r) for r in await cur.fetchmany(ROWS_KEPT)]
                    non_text = await self._non_text(cur.description, sql)
                    outcome.cursor = KeptRows(columns, rows, non_text)
                    if len(rows) == ROWS_KEPT:
                        outcome.notes.append(f"only the first {ROWS_KEPT} rows are shown")
            except BaseException:
                await self._end_transaction()
                raise
            if write:
                self._pending = True
                outcome.pending = True
            else:
                await self._end_transaction()
            return outcome

    async def _run_alone(self, sql: str) -> Outcome:
        """Run a statement PostgreSQL refuses inside a transaction block (`VACUUM`,
        `CREATE INDEX CONCURRENTLY`...) outside one: it takes effect as it ends, with
        nothing to commit or roll back."""
        await self.send("SET default_transaction_read_only = off", sql)
        try:
            cur = await self.send(sql, sql)
        finally:
            with contextlib.suppress(StatementError):  # a lost connection is reopened
                await self.send("SET default_transaction_read_only = on", sql)
        outcome = Outcome(changed=cur.rowcount if cur.rowcount >= 0 else None)
        outcome.notes.append("ran outside a transaction (it cannot run in one): done, not undoable")
        return outcome

    async def _declare(self, sql: str) -> Outcome:
        await self.send("BEGIN READ ONLY", sql)
        prefix = f'DECLARE "{CURSOR}" SCROLL CURSOR FOR '
        try:
            await self.send(prefix + sql, sql, len(prefix))
            # A few rows first, then as many of the rest as fit in `BATCH_BYTES`: rows of
            # megabytes each are not all fetched at once.
            cur = await self.send(f'FETCH FORWARD {HEAD_FIRST} FROM "{CURSOR}"', sql)
            head = [tuple(r) for r in await cur.fetchall()]
            description = cur.description or []
            complete = len(head) < HEAD_FIRST
            more = batch_for(head, HEAD_ROWS) - len(head)
            if not complete and more > 0:
                cur = await self.send(f'FETCH FORWARD {more} FROM "{CURSOR}"', sql)
                rest = [tuple(r) for r in await cur.fetchall()]
                head += rest
                complete = len(rest) < more
            non_text = await self._non_text(description, sql)
        except BaseException:
            await self._end_transaction()
            raise
        columns = tuple(d.name for d in description)
        self._current = PostgresResultCursor(self, sql, columns, head, non_text, complete)
        return Outcome(cursor=self._current)

    async def _non_text(self, description: Any, sql: str) -> frozenset[int]:
        """The columns of a result whose type is not a string type (`ResultCursor`)."""
        oids = [int(column.type_code) for column in description]
        unknown = {o for o in oids if o >= FIRST_USER_OID and o not in self._string_types}
        if unknown:
            listed = ", ".join(map(str, sorted(unknown)))  # integers from the server
            # On the database's search path: every operator and type named in the catalog,
            # so that none of the database's can be the better match (see pg_driver).
            cur = await self.send(
                "SELECT oid::pg_catalog.int8 FROM pg_catalog.pg_type WHERE oid "
                f"OPERATOR(pg_catalog.=) ANY ('{{{listed}}}'::pg_catalog.oid[]) AND "
                "typcategory OPERATOR(pg_catalog.=) 'S'::pg_catalog.\"char\"",
                sql,
            )
            strings = {row[0] for row in await cur.fetchall()}
            self._string_types.update((oid, oid in strings) for oid in unknown)
        return frozenset(
            index
            for index, oid in enumerate(oids)
            if oid not in STRING_TYPES and not self._string_types.get(oid, False)
        )

    @property
    def in_transaction(self) -> bool:
        return self._pending

    async def commit(self) -> None:
        async with self.lock:
            if self._pending:
                await self.send("COMMIT", "COMMIT")
                self._pending = False

    async def rollback(self) -> None:
        async with self.lock:
            await self._end_transaction()

    async def explain(self, sql: str) -> PlanNode:
        refuse_unless_one_statement(sql)
        async with self.lock:
            await self._end_transaction()
            prefix = "EXPLAIN (FORMAT JSON) "
            await self.send("BEGIN READ ONLY", sql)
            try:
                cur = await self.send(prefix + sql, sql, len(prefix))
                row = await cur.fetchone()
            finally:
                await self._end_transaction()
        plan = row[0] if row else "[]"
        document = json.loads(plan) if isinstance(plan, str) else plan
        return PlanNode("QUERY PLAN", tuple(_plan_node(p["Plan"]) for p in document))

    async def interrupt(self) -> None:
        with contextlib.suppress(driver.Error):
            await self.conn.cancel_safe()

    async def aclose(self) -> None:
        with contextlib.suppress(driver.Error, StatementError):
            await self._end_transaction()
        with contextlib.suppress(driver.Error):
            await asyncio.shield(self.conn.close())


def _plan_node(node: dict[str, Any]) -> PlanNode:
    """One node of `EXPLAIN (FORMAT JSON)` as psql's text plan names it."""
    label = str(node.get("Node Type", "?"))
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
        if node.get("Alias") and node["Alias"] != node["Relation Name"]:
            label += f" {node['Alias']}"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    cost = (
        f"(cost={_cost(node.get('Startup Cost'))}..{_cost(node.get('Total Cost'))}"
        f" rows={node.get('Plan Rows')})"
    )
    # psql prints a node's conditions on lines of their own under it: here, leaves first.
    details = tuple(
        PlanNode(f"{key}: {_detail(node[key])}")
        for key in ("Filter", "Index Cond", "Hash Cond", "Join Filter", "Sort Key")
        if key in node
    )
    children = tuple(_plan_node(child) for child in node.get("Plans", ()))
    return PlanNode(f"{label}  {cost}", details + children)


def _cost(value: Any) -> str:
    """A cost as psql prints it, to two decimals (`0.00..12.10`)."""
    return f"{value:.2f}" if isinstance(value, int | float) else str(value)


def _detail(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
