"""Builds `migrate recreate`'s up and down files from a schema, and tries them first.

The schema (from the migrations replayed, or the live database) is created again in a
scratch in-memory database. There SQLite renames the columns asked for, so that the
texts of the indexes, triggers and views it rewrites are SQLite's own, not a guess; and
there the generated files run once, up then down, before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from dbinspect import sqlite_driver as driver
from dbinspect.config import Settings
from dbinspect.errors import MigrationError
from dbinspect.migrate.recreate import (
    Changes,
    Dependent,
    Plan,
    Recreation,
    TableDef,
    names_in,
    parse_create_table,
    plan_changes,
    render_file,
    temporary_name,
)
from dbinspect.migrate.statements import split_statements
from dbinspect.models import Schema


class Row(NamedTuple):
    """One row of `sqlite_schema`."""

    type: str
    name: str
    table: str
    sql: str | None


class Generated(NamedTuple):
    table: str
    up: str
    down: str
    warnings: list[str]
    """What the change loses (also written in the down file)."""


def _schema_sql(schema: Schema) -> list[str]:
    """The CREATE statements of the schema's own objects (SQLite makes the internal ones)."""
    statements = []
    for obj in schema.objects:
        if obj.internal or obj.sql is None or obj.name.startswith("sqlite_"):
            continue
        statements.append(obj.sql)
    return statements


def build_scratch(statements: Iterable[str], table: str) -> driver.Connection:
    """An in-memory database with the objects of `statements`, each in a valid order.

    Statements run in passes until none is left: a view can only be created after what
    it reads, and the schema lists objects by kind and name, not by creation order; the
    order of the pass that succeeds is `sqlite_schema`'s, so dependents come after what
    they depend on. An object that cannot be made here (a virtual table whose module
    is an extension) is left out when it does not name `table`.

    Raises:
        MigrationError: A statement that names `table` fails whatever comes before it.
    """
    conn = driver.connect(":memory:", isolation_level=None)
    pending = list(statements)
    while pending:
        failed: list[tuple[str, driver.Error]] = []
        for sql in pending:
            try:
                conn.execute(sql)
            except driver.Error as error:
                failed.append((sql, error))
        if len(failed) == len(pending):
            blocking = [(sql, e) for sql, e in failed if table.casefold() in names_in(sql)]
            if not blocking:
                break
            conn.close()
            sql, reason = blocking[0]
            first = sql.strip().split("\n", 1)[0]
            raise MigrationError(f"cannot rebuild the schema to work on: {first}: {reason}")
        pending = [sql for sql, _ in failed]
    return conn


def _rows(conn: driver.Connection) -> list[Row]:
    return [
        Row(*r)
        for r in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY rowid"
        ).fetchall()
    ]


def _find_table(rows: list[Row], name: str) -> Row:
    folded = name.casefold()
    for row in rows:
        if row.name.casefold() == folded:
            if row.type != "table" or row.sql is None or row.name.startswith("sqlite_"):
                raise MigrationError(f"{row.name!r} is a {row.type}, not a table")
            if row.sql.lstrip().upper().startswith("CREATE VIRTUAL"):
                raise MigrationError(f"{row.name!r} is a virtual table; it cannot be recreated")
            return row
    raise MigrationError(
        f"no table {name!r} in the schema",
        "check the name; --from-live starts from the live database's tables",
    )


def _dependents(rows: list[Row], table: str) -> tuple[list[Dependent], list[Dependent]]:
    """The table's own indexes and triggers plus the outside ones; the outside ones.

    Outside: views and triggers of other tables that name the table, or name a view that
    does (a view that reads a dropped view fails the rename as well), and the triggers of
    those views (dropping a view drops them).
    """
    folded = table.casefold()
    outside_names: set[str] = set()
    mentioned = {folded}
    changed = True
    while changed:
        changed = False
        for row in rows:
            key = row.name.casefold()
            if key in outside_names or row.sql is None or row.type not in ("view", "trigger"):
                continue
            if row.type == "trigger" and row.table.casefold() == folded:
                continue
            if names_in(row.sql) & mentioned or row.table.casefold() in mentioned - {folded}:
                outside_names.add(key)
                if row.type == "view":
                    mentioned.add(key)
                changed = True
    every, outside = [], []
    for row in rows:
        if row.sql is None or row.type not in ("index", "trigger", "view"):
            continue
        dependent = Dependent(row.type, row.name, row.table, row.sql)
        if row.name.casefold() in outside_names:
            outside.append(dependent)
            every.append(dependent)
        elif row.table.casefold() == folded and row.type in ("index", "trigger"):
            every.append(dependent)
    return every, outside


def _children(conn: driver.Connection, rows: list[Row], table: str) -> list[tuple[str, str | None]]:
    """(child table, referenced column or None for the primary key) of each foreign key."""
    found = []
    for row in rows:
        if row.type != "table" or row.name.casefold() == table.casefold():
            continue
        for fk in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (row.name,)):
            if str(fk[2]).casefold() == table.casefold():
                found.append((row.name, fk[4]))
    return found


def _resolve(table: TableDef, name: str, renames: dict[str, str]) -> str:
    """An option's column, also found by its name before a --rename."""
    if table.column(name) is None and name.casefold() in renames:
        return renames[name.casefold()]
    return name


def _resolved(changes: Changes, table: TableDef) -> Changes:
    renames = {old.casefold(): new for old, new in changes.renames}

    def r(name: str) -> str:
        return _resolve(table, name, renames)

    return Changes(
        types=[(r(a), b) for a, b in changes.types],
        renames=changes.renames,
        drops=[r(c) for c in changes.drops],
        adds=changes.adds,
        not_null=[r(c) for c in changes.not_null],
        nullable=[r(c) for c in changes.nullable],
        defaults=[(r(a), b) for a, b in changes.defaults],
        drop_defaults=[r(c) for c in changes.drop_defaults],
        pk=tuple(r(c) for c in changes.pk) if changes.pk is not None else None,
        add_fks=[(r(a), b) for a, b in changes.add_fks],
        drop_fks=[r(c) for c in changes.drop_fks],
        uniques=[tuple(r(c) for c in u) for u in changes.uniques],
        checks=changes.checks,
        column_order=tuple(r(c) for c in changes.column_order)
        if changes.column_order is not None
        else None,
        strict=changes.strict,
        without_rowid=changes.without_rowid,
    )


def _refuse_dropped_uses(
    plan: Plan, every: list[Dependent], children: list[tuple[str, str | None]]
) -> None:
    kept = {c.name.casefold() for c in plan.new.columns}
    dropped = [c.name for c in plan.old.columns if c.name.casefold() not in kept]
    for name in dropped:
        for dependent in every:
            if name.casefold() in names_in(dependent.sql):
                raise MigrationError(
                    f"--drop: {dependent.kind} {dependent.name!r} may use column {name!r}; "
                    "it cannot be rewritten safely",
                    f"drop or change {dependent.kind} {dependent.name!r} in a migration first",
                )
        for child, column in children:
            if column is not None and column.casefold() == name.casefold():
                raise MigrationError(
                    f"--drop: a foreign key of table {child!r} references column {name!r}",
                    f"change table {child!r} first",
                )


def _down_plan(
    plan: Plan, original: TableDef, renames: list[tuple[str, str]]
) -> tuple[TableDef, dict[str, str]]:
    """The table as the down file finds it after renaming back, and what it copies."""
    back = {new.casefold(): old for old, new in renames}
    current = plan.new.copy()
    for column in current.columns:
        column.name = back.get(column.name.casefold(), column.name)
    forward = {old.casefold(): new for old, new in renames}
    copied = {name.casefold() for name in plan.sources}  # by the names after the renames
    sources = {}
    for column in original.columns:
        if column.generated:
            continue
        if forward.get(column.name.casefold(), column.name).casefold() in copied:
            mine = current.column(column.name)
            if mine is not None and not mine.generated:
                sources[column.name] = mine.name
    return current, sources


def run_script(conn: driver.Connection, sql: str) -> None:
    """Run a file's statements one by one, stopping at the first error, as sqlx does."""
    for statement in split_statements(sql):
        try:
            conn.execute(statement.sql)
        except driver.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"{statement.label()}: {error}") from error


def _header(table: str, changes: Changes, source: str, direction: str) -> list[str]:
    lines = [
        f"{direction} of `dbinspect migrate recreate {table}`: recreates the table by SQLite's",
        "12-step procedure (https://www.sqlite.org/lang_altertable.html#otheralter).",
        f"Definition taken from {source}.",
        *(f"  {line}" for line in changes.summary()),
        "It turns foreign keys off and opens its own transaction: a no-transaction file.",
        "A row the new definition refuses, or a foreign key violation, rolls that",
        "transaction back and fails the file. If another statement fails when sqlx runs",
        "it, the transaction stays open until the connection closes, which rolls it back;",
        "foreign keys stay off on that connection.",
    ]
    if direction == "Down file":
        lines.append("Indexes and triggers added to the table after the up file are not kept.")
    return lines


def generate(schema: Schema, table_name: str, changes: Changes, *, source: str) -> Generated:
    """The up and down files that recreate `table_name` with `changes`.

    Args:
        source: Where the schema comes from, for the files' header.

    Raises:
        MigrationError: The table or a column is missing, a dependent cannot be kept,
            or the generated files fail on the schema.
    """
    if changes.is_empty():
        raise MigrationError("nothing to change", "pass an option such as --type COL=TYPE")
    statements = _schema_sql(schema)
    conn = build_scratch(statements, table_name)
    try:
        original_rows = _rows(conn)
        row = _find_table(original_rows, table_name)
        table = row.name
        original = parse_create_table(row.sql or "")
        renames = []
        for old, new in changes.renames:
            column = original.column(old)
            if column is None:
                raise MigrationError(f"--rename: table {table!r} has no column {old!r}")
            renames.append((column.name, new))
        for old, new in renames:
            try:
                conn.execute(f"ALTER TABLE {_q(table)} RENAME COLUMN {_q(old)} TO {_q(new)}")
            except driver.Error as error:
                raise MigrationError(f"--rename {old}={new}: {error}") from error
        rows = _rows(conn)
        renamed = parse_create_table(_find_table(rows, table).sql or "")
        plan = plan_changes(renamed, _resolved(changes, renamed))
        every, outside = _dependents(rows, table)
        children = _children(conn, rows, table)
        _refuse_dropped_uses(plan, every, children)
    finally:
        conn.close()
    taken = {r.name for r in original_rows} | {r.name for r in rows}
    temporary = temporary_name(table, taken)
    child_tables = list(dict.fromkeys(c for c, _ in children))
    up = Recreation(
        table, renamed, plan.new, plan.sources, renames, every, outside, child_tables, temporary
    )
    down_current, down_sources = _down_plan(plan, original, renames)
    every_before, outside_before = _dependents(original_rows, table)
    down = Recreation(
        table,
        down_current,
        original,
        down_sources,
        [(new, old) for old, new in reversed(renames)],
        every_before,
        outside_before,
        child_tables,
        temporary,
    )
    up_text = render_file(up, _header(table, changes, source, "Up file"))
    lossy_lines = (
        ["The up file loses data, so this file cannot bring all of it back:"]
        + [f"  {line}" for line in plan.lossy]
        if plan.lossy
        else []
    )
    down_text = render_file(down, _header(table, changes, source, "Down file") + lossy_lines)
    _try(statements, table, up_text, down_text)
    return Generated(table, up_text, down_text, plan.lossy)


def _q(name: str) -> str:
    from dbinspect.backends.sqlite_names import quote_identifier

    return quote_identifier(name)


def _try(statements: list[str], table: str, up: str, down: str) -> None:
    """Run both files on an empty copy of the schema; refuse them when either fails."""
    conn = build_scratch(statements, table)
    try:
        for name, text in (("up", up), ("down", down)):
            try:
                run_script(conn, text)
            except MigrationError as error:
                raise MigrationError(
                    f"the generated {name} file fails on the schema: {error.message}",
                    "change the options; or change the objects it names in a migration first",
                ) from error
    finally:
        conn.close()


async def definition(
    settings: Settings, table: str, *, from_live: bool = False
) -> tuple[Schema, str]:
    """The schema to work from, and where it comes from (for the files' header).

    The migrations folder replayed; refused when the live table differs from it.
    `from_live`: the live database's schema instead.

    Raises:
        MigrationError: The live table differs (pending migrations or drift).
    """
    from dbinspect.backends import open_backend
    from dbinspect.ops.replay import replay_migrations

    url = settings.url
    live = None
    # No database file yet (or one in memory): nothing to compare, unless asked for it.
    exists = url is not None and url.path is not None and url.path.exists()
    if url is not None and (exists or from_live):
        backend = await open_backend(url, extensions=settings.sqlx.extensions)
        try:
            live = await backend.schema()
        finally:
            await backend.aclose()
    if from_live and live is not None:
        return live, "the live database (--from-live), not the migrations folder"
    folder = settings.migrations.path
    replay = await replay_migrations("sqlite", folder, settings.sqlx)
    if live is not None:
        _refuse_difference(replay.schema, live, table, settings)
    return replay.schema, f"the schema the migrations in {_shown(folder)} build"


def _shown(folder: Path) -> str:
    """The folder relative to the working directory when inside it: the header is
    committed with the files, and an absolute path would name one machine's home."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve())) + "/"
    except ValueError:
        return str(folder)


def _refuse_difference(expected: Schema, live: Schema, table: str, settings: Settings) -> None:
    from dbinspect.migrate.runner import migration_status
    from dbinspect.ops.drift import compare_schemas

    folded = table.casefold()
    differences = [
        d
        for d in compare_schemas(expected, live, "sqlite")
        if d.name.casefold() == folded
        or str((d.expected or d.actual or {}).get("table", "")).casefold() == folded
    ]
    if not differences:
        return
    url = settings.url
    assert url is not None  # only called with a live database
    pending = [
        s.version
        for s in migration_status(url, settings.migrations.path, settings.sqlx)
        if s.status == "pending"
    ]
    first = differences[0]
    what = f"{first.kind} {first.name} is {first.change}" + (
        f" ({', '.join(first.changed_keys())})" if first.change == "changed" else ""
    )
    why = (
        f"migrations {', '.join(map(str, pending))} are pending"
        if pending
        else "the database drifted from the migrations"
    )
    raise MigrationError(
        f"table {table} in the database differs from the one the migrations build: {what}; {why}",
        "run `dbinspect migrate run` first (or fix the drift), or pass --from-live to start "
        "from the live definition",
    )
