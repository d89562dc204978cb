"""Provides the loading of a PostgreSQL `json` backup into a new database, through the
driver alone (no client tool).

The backup holds the structure `schema --format json` writes and every row in
PostgreSQL's text form (`backup_postgres`). The structure is rebuilt from the
definitions the server itself wrote (`pg_get_functiondef`, `pg_get_constraintdef`,
`pg_get_indexdef`, `pg_get_viewdef`, `pg_get_triggerdef`, `format_type`), run as they
are, in pg_dump's order: schemas, extensions, types, functions, sequences, tables
(parents before the tables that inherit from them), rows (`COPY`, each text value read by
its type's input function), constraints, indexes (a partition's attached to its
partitioned table's), foreign keys, views (a materialized view left unpopulated stays
so), triggers, row-level security and policies, comments. A statement that needs an
object made later (a view on a view, a domain over a domain, a SQL function whose body
reads a table) is tried again once the rest is in, until nothing more goes in.

What the format does not hold is not restored: owners and grants (the restoring user
owns everything), foreign-key options beyond the actions, and a sequence's position:
a sequence owned by a column goes on after the column's largest value, any other one
starts again at its start value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from dbinspect import pg_driver
from dbinspect.errors import OperationError
from dbinspect.ops.backup import Progress
from dbinspect.ops.backup_files import JSON_FORMAT
from dbinspect.ops.json_backup_lines import BackupLines
from dbinspect.ops.restore_pg_policies import restore_row_security
from dbinspect.ops.restore_pg_refusals import OTHER_FORMATS, unrestorable
from dbinspect.ops.restore_pg_rows import load_rows
from dbinspect.url import DatabaseUrl

sql = pg_driver.sql
Composable = pg_driver.sql.Composable

_TRIGGER_STATE = {
    "disabled": "DISABLE",
    "replica only": "ENABLE REPLICA",
    "always": "ENABLE ALWAYS",
}


def _name(schema: str | None, name: str) -> Composable:
    return sql.Identifier(schema, name) if schema else sql.Identifier(name)


class _Builder:
    """Runs the statements on the new database; keeps those that must wait for others."""

    def __init__(self, conn: pg_driver.Connection[tuple[Any, ...]]) -> None:
        self.conn = conn
        self.waiting: list[tuple[str, Composable | str, OperationError]] = []

    def run(self, label: str, statement: Composable | str, *, can_wait: bool = False) -> None:
        try:
            self.conn.execute(statement)  # type: ignore[arg-type]
        except pg_driver.Error as error:
            if not can_wait:
                raise _failed(label, error) from None
            self.waiting.append((label, statement, _failed(label, error)))

    def run_waiting(self, *, needed: str = "") -> None:
        """Run the statements that failed again, while some go in. Those still waiting
        then may wait on, unless their label starts with `needed` ("": every one)."""
        while self.waiting:
            pending, self.waiting = self.waiting, []
            for label, statement, _ in pending:
                try:
                    self.conn.execute(statement)  # type: ignore[arg-type]
                except pg_driver.Error as error:
                    self.waiting.append((label, statement, _failed(label, error)))
            if len(self.waiting) == len(pending):
                break
        for label, _, failure in self.waiting:
            if label.startswith(needed):
                raise failure

    def exists(self, query: str, *params: object) -> bool:
        return bool(self.conn.execute(query.encode(), params).fetchone())


def _failed(label: str, error: pg_driver.Error) -> OperationError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return OperationError(f"{label}: {reason}")


def load_postgres_json(
    source: BinaryIO,
    url: DatabaseUrl,
    on_progress: Progress | None,
    tell: Callable[[str], None] | None = None,
) -> None:
    """Rebuild the backup read from `source` in the new, empty database `url`.

    `tell` hears what is rebuilt otherwise than the backup says (a policy's role that
    does not exist on this server), one line each.

    Raises:
        OperationError: The backup is not a PostgreSQL JSON backup, is damaged or cut
            short, holds what a JSON backup cannot rebuild, or one of its statements fails.
    """
    backup = BackupLines(iter(source))
    head = backup.head()
    if head.get("format") != JSON_FORMAT or head.get("backend") != "postgres":
        raise OperationError("this JSON file is not a dbinspect backup of a PostgreSQL database")
    structure: dict[str, list[dict[str, Any]]] = head["schema"]
    refused = unrestorable(structure)  # a backup written before `backup` refused these
    if refused is not None:
        raise OperationError(refused, OTHER_FORMATS)
    conn = pg_driver.connect(url)
    try:
        conn.execute("SET check_function_bodies = false")
        conn.execute("SET client_min_messages = warning")
        build = _Builder(conn)
        _before_rows(build, structure)
        load_rows(conn, backup, on_progress)
        _after_rows(build, structure, tell)
    except pg_driver.Error as error:
        raise _failed("loading the rows", error) from None
    finally:
        conn.close()


def _before_rows(build: _Builder, structure: dict[str, list[dict[str, Any]]]) -> None:
    for schema in structure.get("schemas", []):
        build.run(
            f"schema {schema['name']}",
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema["name"])),
        )
    for extension in structure.get("extensions", []):
        build.run(
            f"extension {extension['name']}",
            sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA {}").format(
                sql.Identifier(extension["name"]), sql.Identifier(extension["schema"])
            ),
        )
    for kind in structure.get("types", []):
        build.run(f"type {kind['schema']}.{kind['name']}", _type(kind), can_wait=True)
    for function in structure.get("functions", []):
        build.run(
            f"function {function['schema']}.{function['name']}",
            function["definition"],
            can_wait=True,
        )
    tables = structure.get("tables", [])
    for sequence in structure.get("sequences", []):
        if not sequence["identity"]:
            build.run(f"sequence {sequence['name']}", _sequence(sequence))
    build.run_waiting(needed="type ")  # functions may wait for tables (BEGIN ATOMIC)
    by_name = {(t["schema"], t["name"]): t for t in tables}
    for table in parents_first(tables):
        statement = _table(table, by_name)
        build.run(f"table {table['schema']}.{table['name']}", statement, can_wait=True)
    build.run_waiting(needed="table ")  # the rows go in next


def parents_first(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tables, each after those it inherits from or is a partition of: a parent's
    constraints then reach its children as inherited ones, as in the database backed up."""
    by_name = {f"{t['schema']}.{t['name']}": t for t in tables}
    depths: dict[str, int] = {}

    def depth(table: dict[str, Any], seen: frozenset[str] = frozenset()) -> int:
        key = f"{table['schema']}.{table['name']}"
        if key not in depths:
            above = [f"{p['schema']}.{p['table']}" for p in table.get("inherits", [])]
            if "partition_of" in table:
                above.append(str(table["partition_of"]))
            found = [by_name[a] for a in above if a in by_name and a not in seen]
            depths[key] = 1 + max((depth(t, seen | {key}) for t in found), default=-1)
        return depths[key]

    return sorted(tables, key=depth)


def _type(kind: dict[str, Any]) -> Composable:
    name = _name(kind["schema"], kind["name"])
    if kind["type"] == "enum":
        return sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
            name, sql.SQL(", ").join(map(sql.Literal, kind["labels"]))
        )
    if kind["type"] == "composite":
        attributes = zip(kind["attribute_names"], kind["attribute_types"], strict=True)
        return sql.SQL("CREATE TYPE {} AS ({})").format(
            name,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(a), sql.SQL(t)) for a, t in attributes
            ),
        )
    parts: list[Composable] = [
        sql.SQL("CREATE DOMAIN {} AS {}").format(name, sql.SQL(kind["base_type"]))
    ]
    if kind.get("default") is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(kind["default"])))
    if kind.get("not_null"):
        parts.append(sql.SQL("NOT NULL"))
    for check in kind.get("constraints", []):
        parts.append(
            sql.SQL("CONSTRAINT {} {}").format(
                sql.Identifier(check["name"]), sql.SQL(check["definition"])
            )
        )
    return sql.SQL(" ").join(parts)


def _sequence(sequence: dict[str, Any]) -> Composable:
    return sql.SQL(
        "CREATE SEQUENCE {} AS {} INCREMENT {} MINVALUE {} MAXVALUE {} START {} CACHE {} {}"
    ).format(
        _name(sequence["schema"], sequence["name"]),
        sql.SQL(sequence["data_type"]),
        sql.Literal(sequence["increment"]),
        sql.Literal(sequence["minimum"]),
        sql.Literal(sequence["maximum"]),
        sql.Literal(sequence["start"]),
        sql.Literal(sequence["cache"]),
        sql.SQL("CYCLE" if sequence["cycle"] else "NO CYCLE"),
    )


def _column(column: dict[str, Any]) -> Composable:
    parts: list[Composable] = [sql.Identifier(column["name"]), sql.SQL(column["type"])]
    if column.get("collation"):
        parts.append(sql.SQL("COLLATE {}").format(sql.Identifier(column["collation"])))
    if column.get("generated"):
        parts.append(
            sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(column["expression"]))
        )
    elif column.get("identity"):
        how = "ALWAYS" if column["identity"] == "always" else "BY DEFAULT"
        parts.append(sql.SQL(f"GENERATED {how} AS IDENTITY"))
    elif column.get("default") is not None:
        parts.append(sql.SQL("DEFAULT {}").format(sql.SQL(column["default"])))
    if column.get("not_null"):
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def _table(table: dict[str, Any], by_name: dict[tuple[str, str], dict[str, Any]]) -> Composable:
    name = _name(table["schema"], table["name"])
    unlogged = sql.SQL("UNLOGGED " if table.get("unlogged") else "")
    if "partition_of" in table:
        parent_schema, _, parent = str(table["partition_of"]).partition(".")
        statement = sql.SQL("CREATE {}TABLE {} PARTITION OF {} {}").format(
            unlogged, name, _name(parent_schema, parent), sql.SQL(table["partition_bound"])
        )
        return _partitioned_by(statement, table)
    parents = [(p["schema"], p["table"]) for p in table.get("inherits", [])]
    columns = _own_columns(table["columns"], [by_name[p] for p in parents])
    statement = sql.SQL("CREATE {}TABLE {} ({})").format(
        unlogged, name, sql.SQL(", ").join(_column(c) for c in columns)
    )
    if parents:
        statement = sql.SQL("{} INHERITS ({})").format(
            statement, sql.SQL(", ").join(_name(*p) for p in parents)
        )
    return _partitioned_by(statement, table)


def _partitioned_by(statement: Composable, table: dict[str, Any]) -> Composable:
    """A partitioned table's key, a partition's too when it is partitioned in turn."""
    if table.get("partition_key"):
        return sql.SQL("{} PARTITION BY {}").format(statement, sql.SQL(table["partition_key"]))
    return statement


_INHERITED = ("type", "default", "not_null", "collation", "generated", "expression")


def _own_columns(
    columns: list[dict[str, Any]], parents: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The columns a table declares itself: those its parents give it as they are come
    from `INHERITS` (as `CREATE TABLE ... INHERITS` made them); one with a default or NOT
    NULL of its own is declared again, which PostgreSQL merges with the inherited one."""
    inherited: dict[str, dict[str, Any]] = {}
    for parent in parents:
        for column in parent["columns"]:
            inherited.setdefault(column["name"], column)
    return [
        c
        for c in columns
        if c["name"] not in inherited
        or any(c.get(k) != inherited[c["name"]].get(k) for k in _INHERITED)
    ]


def _after_rows(
    build: _Builder,
    structure: dict[str, list[dict[str, Any]]],
    tell: Callable[[str], None] | None,
) -> None:
    tables = parents_first(structure.get("tables", []))
    for table in tables:
        for constraint in table.get("constraints", []):
            if not _has_constraint(build, table, constraint["name"]):
                build.run(
                    f"constraint {constraint['name']} of {table['schema']}.{table['name']}",
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                        _name(table["schema"], table["name"]),
                        sql.Identifier(constraint["name"]),
                        sql.SQL(constraint["definition"]),
                    ),
                    can_wait=True,  # a partition's waits for its parent's
                )
    build.run_waiting(needed="constraint ")
    for index in structure.get("indexes", []):
        if index["origin"] == "c" and not build.exists(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            index["schema"],
            index["name"],
        ):
            # An index on a materialized view waits for the view.
            build.run(f"index {index['name']}", index["definition"], can_wait=True)
    for table in tables:
        for key in table.get("foreign_keys", []):
            if not _has_constraint(build, table, key["name"]):
                build.run(f"foreign key {key['name']}", _foreign_key(table, key), can_wait=True)
    for view in structure.get("views", []) + structure.get("materialized_views", []):
        # A materialized view created WITH NO DATA (or emptied since) stays so: its
        # query is not run, and may not even run.
        empty = "\nWITH NO DATA" if view.get("populated") is False else ""
        build.run(f"view {view['schema']}.{view['name']}", view["sql"] + empty, can_wait=True)
    build.run_waiting()
    _attach_indexes(build, structure.get("indexes", []))
    for trigger in structure.get("triggers", []):
        build.run(f"trigger {trigger['name']}", trigger["definition"])
        state = _TRIGGER_STATE.get(trigger.get("enabled", ""))
        if state is not None:
            build.run(
                f"trigger {trigger['name']}",
                sql.SQL("ALTER TABLE {} {} TRIGGER {}").format(
                    _name(trigger["schema"], trigger["table"]),
                    sql.SQL(state),
                    sql.Identifier(trigger["name"]),
                ),
            )
    _sequence_positions(build, structure)
    restore_row_security(build.conn, build.run, structure, tell)
    _comments(build, structure)


def _attach_indexes(build: _Builder, indexes: list[dict[str, Any]]) -> None:
    """Attach each partition's index to its partitioned table's index, as it was.

    `pg_get_indexdef` writes a partitioned table's index `ON ONLY` the table, which makes
    it alone (invalid until every partition's index is attached); a constraint's index
    is attached by the constraint already. Deepest partitions first, so that each index
    is whole, and valid, by the time it is attached in turn.
    """
    above = {
        (i["schema"], i["name"]): (i["partition_of"]["schema"], i["partition_of"]["name"])
        for i in indexes
        if i.get("partition_of")
    }

    def depth(key: tuple[str, str]) -> int:
        count = 0
        while key in above and count <= len(above):
            key, count = above[key], count + 1
        return count

    for child in sorted(above, key=depth, reverse=True):
        if not build.exists(
            "SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s",
            *child,
        ):
            build.run(
                f"index {child[1]}",
                sql.SQL("ALTER INDEX {} ATTACH PARTITION {}").format(
                    _name(*above[child]), _name(*child)
                ),
            )


def _has_constraint(build: _Builder, table: dict[str, Any], name: str) -> bool:
    return build.exists(
        "SELECT 1 FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND con.conname = %s",
        table["schema"],
        table["name"],
        name,
    )


def _foreign_key(table: dict[str, Any], key: dict[str, Any]) -> Composable:
    target = key["references"]
    return sql.SQL(
        "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) "
        "ON UPDATE {} ON DELETE {}"
    ).format(
        _name(table["schema"], table["name"]),
        sql.Identifier(key["name"]),
        sql.SQL(", ").join(map(sql.Identifier, key["columns"])),
        _name(target["schema"], target["table"]),
        sql.SQL(", ").join(map(sql.Identifier, key["ref_columns"])),
        sql.SQL(key["on_update"]),
        sql.SQL(key["on_delete"]),
    )


def _sequence_positions(build: _Builder, structure: dict[str, list[dict[str, Any]]]) -> None:
    """A sequence a column owns goes on after the column's largest value."""
    for sequence in structure.get("sequences", []):
        owner = sequence.get("owned_by")
        if owner is None:
            continue
        schema, table, column = _owner_parts(owner, structure)
        name = _name(sequence["schema"], sequence["name"])
        if not sequence["identity"]:
            build.run(
                f"sequence {sequence['name']}",
                sql.SQL("ALTER SEQUENCE {} OWNED BY {}").format(
                    name, sql.Identifier(schema, table, column)
                ),
            )
        build.run(
            f"sequence {sequence['name']}",
            sql.SQL(
                "SELECT CASE WHEN m IS NULL THEN setval(s, {0}, false) ELSE setval(s, m) END "
                "FROM (SELECT max({1}) AS m FROM {2}) AS largest, "
                "pg_get_serial_sequence({3}, {4}) AS s"
            ).format(
                sql.Literal(sequence["start"]),
                sql.Identifier(column),
                sql.Identifier(schema, table),
                sql.Literal(sql.Identifier(schema, table).as_string(build.conn)),
                sql.Literal(column),
            ),
        )


def _owner_parts(owner: str, structure: dict[str, list[dict[str, Any]]]) -> tuple[str, str, str]:
    """`schema.table.column` split where a table of the backup has those names."""
    for table in structure.get("tables", []):
        prefix = f"{table['schema']}.{table['name']}."
        if owner.startswith(prefix):
            return table["schema"], table["name"], owner[len(prefix) :]
    raise OperationError(f"a sequence is owned by {owner}, which the backup does not hold")


def _comments(build: _Builder, structure: dict[str, list[dict[str, Any]]]) -> None:
    def comment(what: str, target: Composable, text: str | None) -> None:
        if text is not None:
            build.run(
                f"comment on {what}",
                sql.SQL("COMMENT ON {} {} IS {}").format(sql.SQL(what), target, sql.Literal(text)),
            )

    for schema in structure.get("schemas", []):
        if schema["name"] != "public":
            comment("SCHEMA", sql.Identifier(schema["name"]), schema.get("comment"))
    for kind in structure.get("types", []):
        comment("TYPE", _name(kind["schema"], kind["name"]), kind.get("comment"))
    for sequence in structure.get("sequences", []):
        comment("SEQUENCE", _name(sequence["schema"], sequence["name"]), sequence.get("comment"))
    for what, group in (("TABLE", "tables"), ("VIEW", "views"),
                        ("MATERIALIZED VIEW", "materialized_views")):  # fmt: skip
        for relation in structure.get(group, []):
            comment(what, _name(relation["schema"], relation["name"]), relation.get("comment"))
            for column in relation.get("columns", []):
                place = sql.Identifier(relation["schema"], relation["name"], column["name"])
                comment("COLUMN", place, column.get("comment"))
    for index in structure.get("indexes", []):
        comment("INDEX", _name(index["schema"], index["name"]), index.get("comment"))
    for trigger in structure.get("triggers", []):
        on_table = sql.SQL("{} ON {}").format(
            sql.Identifier(trigger["name"]), _name(trigger["schema"], trigger["table"])
        )
        comment("TRIGGER", on_table, trigger.get("comment"))
    for function in structure.get("functions", []):
        signature = str(function["name"])
        arguments = signature[len(function["function_name"]) :]  # "(integer, text)"
        signed = sql.SQL("{}{}").format(
            _name(function["schema"], function["function_name"]), sql.SQL(arguments)
        )
        what = {"procedure": "PROCEDURE", "aggregate": "AGGREGATE"}.get(
            function.get("kind", ""), "FUNCTION"
        )
        comment(what, signed, function.get("comment"))
