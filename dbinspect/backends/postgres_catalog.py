"""Reads a PostgreSQL database's whole schema in one round trip and builds the `Schema`.

The queries (`postgres_catalog_sql`) run together in one read-only REPEATABLE READ
transaction, so they see one state of the catalog (split over two connections, both
see it); their rows are joined here, in Python, by object id.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import defaultdict
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from dbinspect.backends import postgres_catalog_sql as q
from dbinspect.models import (
    POSTGRES_OBJECT_KINDS,
    ColumnInfo,
    ConstraintInfo,
    Detail,
    ForeignKeyInfo,
    IndexInfo,
    ObjectKind,
    PolicyInfo,
    Schema,
    SchemaObject,
)

if TYPE_CHECKING:
    from dbinspect import pg_driver

Row = tuple[Any, ...]

_RELATION_KINDS: dict[str, ObjectKind] = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
}
_FK_ACTIONS = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_CONSTRAINT_KINDS = {"c": "check", "u": "unique", "p": "primary key", "x": "exclusion"}
_FUNCTION_KINDS = {"f": "function", "p": "procedure", "a": "aggregate", "w": "window"}
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_IDENTITY = {"a": "always", "d": "by default"}
_TRIGGER_ENABLED = {"O": "enabled", "D": "disabled", "R": "replica only", "A": "always"}
_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

BLOCKED = (
    "another session holds or awaits an exclusive lock on it, or on a table it reads "
    "(an ALTER TABLE, REINDEX or VACUUM FULL): its definition was not read"
)
"""The `error` of an object whose definition was left out rather than waited for."""


QUERIES: dict[str, str] = {
    "schemas": q.SCHEMAS,
    "extensions": q.EXTENSIONS,
    "relations": q.RELATIONS,
    "columns": q.COLUMNS,
    "constraints": q.CONSTRAINTS,
    "sequences": q.SEQUENCES,
    "functions": q.FUNCTIONS,
    "types": q.TYPES,
    "indexes": q.INDEXES,
    "triggers": q.TRIGGERS,
    "policies": q.POLICIES,
    "inherits": q.INHERITS,
}
"""The catalog queries by the name `build_schema` takes their rows under."""
SECOND_HALF = ("indexes", "triggers", "sequences")
"""Sent on a second connection when there is one: deparsing every index is about half of
the server's work, and the server runs the two halves on two cores at once. Sequences go
with them: the first half's rows, which the client builds while this half is still on
the server, arrive sooner."""

_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# Statements sent in one message run in one implicit transaction, which this sets up:
# the whole read is then one command on the connection, so nothing another task sends on
# it lands inside the read's transaction, and a failure leaves no transaction open.
_IMPLICIT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")


def _script(names: Sequence[str], *, details: bool) -> str:
    queries = (QUERIES[name].strip() for name in names)
    text = ";\n".join(queries)
    return text if details else text.replace(q.DETAILS, "false")


async def _run(conn: pg_driver.AsyncConnection, script: str) -> list[list[Row]]:
    """The rows of each query of `script` (sent as one message); none for other statements."""
    results: list[list[Row]] = []
    async with conn.cursor() as cursor:
        await cursor.execute(script.encode())
        while True:
            if cursor.description is not None:
                results.append(await cursor.fetchall())
            if not cursor.nextset():
                break
    return results


async def read_catalog(
    conn: pg_driver.AsyncConnection,
    *,
    details: bool = True,
    second: Awaitable[pg_driver.AsyncConnection | None] | None = None,
) -> Schema:
    """The whole schema in one snapshot of the catalog: one message per connection.

    Args:
        conn: The inspection connection; the read is one command on it.
        details: False for an outline: no columns, constraints or definitions.
        second: A connection of the read's own to the same database, as it is being
            opened (None if it could not be), to read half of the catalog at the same
            time in the same snapshot (`pg_export_snapshot`). Its opener closes it.
    """
    from dbinspect import pg_driver  # here: `relations_schema` is used without the driver

    other = await second if second is not None else None
    if other is not None:
        try:
            exported = await _run(other, f"{_BEGIN}; SELECT pg_export_snapshot()")
        except pg_driver.Error as error:
            if pg_driver.server_lost(error):
                raise
            other = None  # no snapshot to share (a pooler, an old standby): one reads all
    if other is None:
        rows = await _run(conn, f"{_IMPLICIT};\n{_script(list(QUERIES), details=details)}")
        return build_schema(**dict(zip(QUERIES, rows, strict=True)))
    try:
        return await _read_in_halves(conn, other, str(exported[0][0][0]), details)
    finally:
        with contextlib.suppress(pg_driver.Error):  # the read's outcome is what counts
            await other.execute(b"ROLLBACK")


QUICK = ("schemas", "relations")
"""What the first frame lists: schemas, and the tables and views in them."""


async def read_relation_rows(conn: pg_driver.AsyncConnection) -> tuple[list[Row], list[Row]]:
    """Schemas, tables and views only, by name: the first frame's tree, at once.

    Indexes, sequences, functions, triggers, types and extensions follow with the full
    outline; on a large catalog these two queries take a fraction of its time. The rows
    hold plain ints, strings, booleans and None (`relations_schema` builds the `Schema`).
    """
    schemas, relations = await _run(conn, f"{_IMPLICIT};\n{_script(QUICK, details=False)}")
    return schemas, relations


def relations_schema(schemas: Sequence[Row], relations: Sequence[Row]) -> Schema:
    """The first frame's `Schema` from `read_relation_rows`' rows (no driver needed)."""
    empty: list[Row] = []
    return build_schema(schemas, empty, relations, empty, empty, empty, empty, empty, empty, empty)


async def _read_in_halves(
    conn: pg_driver.AsyncConnection,
    second: pg_driver.AsyncConnection,
    snapshot: str,
    details: bool,
) -> Schema:
    """Read SECOND_HALF on `second`, whose open transaction exported `snapshot`, and the
    rest on `conn` in the same snapshot.

    The first half's objects are built while the server still deparses the indexes.
    """
    assert _SNAPSHOT_ID.fullmatch(snapshot), snapshot
    first = [name for name in QUERIES if name not in SECOND_HALF]
    later = asyncio.ensure_future(_run(second, _script(SECOND_HALF, details=details)))
    try:
        rows = await _run(
            conn,
            f"{_IMPLICIT}; SET TRANSACTION SNAPSHOT '{snapshot}';\n"
            f"{_script(first, details=details)}",
        )
        begun = _FirstHalf(**dict(zip(first, rows, strict=True)))
        return begun.finish(**dict(zip(SECOND_HALF, await later, strict=True)))
    except BaseException:
        # The other half may still be running: its connection is closed or reused only
        # once it is done.
        later.cancel()
        await asyncio.gather(later, return_exceptions=True)
        raise


def build_schema(
    schemas: Sequence[Row],
    extensions: Sequence[Row],
    relations: Sequence[Row],
    columns: Sequence[Row],
    indexes: Sequence[Row],
    constraints: Sequence[Row],
    triggers: Sequence[Row],
    sequences: Sequence[Row],
    functions: Sequence[Row],
    types: Sequence[Row],
    policies: Sequence[Row] = (),
    inherits: Sequence[Row] = (),
) -> Schema:
    """Join the catalog's rows into objects, sorted by kind, schema and name."""
    begun = _FirstHalf(
        schemas, extensions, relations, columns, constraints, functions, types, policies, inherits
    )
    return begun.finish(indexes, triggers, sequences)


class _FirstHalf:
    """Every object but indexes and triggers, built while those are still being read."""

    def __init__(
        self,
        schemas: Sequence[Row],
        extensions: Sequence[Row],
        relations: Sequence[Row],
        columns: Sequence[Row],
        constraints: Sequence[Row],
        functions: Sequence[Row],
        types: Sequence[Row],
        policies: Sequence[Row] = (),
        inherits: Sequence[Row] = (),
    ) -> None:
        self.relations = relations
        # Parents by child oid, in `inhseqno` order (the query sorts): a table's INHERITS
        # list, or the one index a partition's index is attached to.
        self.parents: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for child, parent_schema, parent in inherits:
            self.parents[child].append((parent_schema, parent))
        self.policies: dict[int, list[PolicyInfo]] = defaultdict(list)
        for row in policies:
            self.policies[row[0]].append(_policy(row))
        self.names = {row[0]: (row[1], row[2]) for row in relations}  # oid -> (schema, name)
        self.attnames = {(row[0], row[1]): row[2] for row in columns}
        self.fks, self.checks, domain_checks = _constraints(constraints, self.names, self.attnames)
        pk_positions = {
            (row[0], attnum): position + 1
            for row in constraints
            if row[3] == "p"
            for position, attnum in enumerate(row[7] or ())
        }
        column_rows: dict[int, list[ColumnInfo]] = defaultdict(list)
        for row in sorted(columns, key=lambda row: (row[0], row[1])):
            column_rows[row[0]].append(_column(row, pk_positions.get((row[0], row[1]), 0)))
        self.columns = column_rows
        self.objects: list[SchemaObject] = [_schema_object(row) for row in schemas]
        self.objects += [_extension(row) for row in extensions]
        self.objects += [_type(row, domain_checks.get(row[0], ())) for row in types]
        self.objects += [_function(row) for row in functions]

    def finish(
        self, indexes: Sequence[Row], triggers: Sequence[Row], sequences: Sequence[Row]
    ) -> Schema:
        """The whole schema, with the indexes, triggers and sequences."""
        names, objects = self.names, list(self.objects)
        objects += [_sequence(row) for row in sequences]
        index_infos = _indexes(indexes, names, self.attnames, self.parents)
        table_indexes: dict[int, list[IndexInfo]] = defaultdict(list)
        for table_oid, info in index_infos.values():
            table_indexes[table_oid].append(info)
        for row in self.relations:
            oid = row[0]
            objects.append(
                _relation(
                    row,
                    tuple(self.columns.get(oid, ())),
                    self.fks.get(oid, ()),
                    table_indexes.get(oid, ()),
                    self.checks.get(oid, ()),
                    tuple(self.parents.get(oid, ())),
                    tuple(sorted(self.policies.get(oid, ()), key=lambda p: p.name)),
                )
            )
        for row in indexes:
            if row[0] in index_infos:
                objects.append(_index_object(index_infos[row[0]][1], row[13], row[15]))
        for row in triggers:
            if row[0] in names:
                objects.append(_trigger(row, names[row[0]]))
        order = {kind: position for position, kind in enumerate(POSTGRES_OBJECT_KINDS)}
        objects.sort(key=lambda o: (order[o.kind], o.schema or "", o.name, o.table))
        return Schema(tuple(objects))


def _schema_object(row: Row) -> SchemaObject:
    name, owner, comment = row
    return SchemaObject("schema", name, name, None, comment=comment, details=(("owner", owner),))


def _extension(row: Row) -> SchemaObject:
    name, version, schema, comment = row
    details: tuple[tuple[str, Detail], ...] = (("version", version), ("schema", schema))
    return SchemaObject("extension", name, name, None, comment=comment, details=details)


def _type(row: Row, checks: tuple[ConstraintInfo, ...]) -> SchemaObject:
    _, schema, name, typtype, labels, base, not_null, default, comment = row[:9]
    attribute_names, attribute_types = row[9:]
    details: tuple[tuple[str, Detail], ...]
    if typtype == "e":
        details = (("type", "enum"), ("labels", tuple(labels or ())))
    elif typtype == "c":
        details = (
            ("type", "composite"),
            ("attribute_names", tuple(attribute_names or ())),
            ("attribute_types", tuple(attribute_types or ())),
        )
    else:
        details = (
            ("type", "domain"),
            ("base_type", base),
            ("not_null", bool(not_null)),
            ("default", default),
        )
    return SchemaObject(
        "type",
        name,
        name,
        None,
        schema=schema,
        comment=comment,
        constraints=checks,
        details=details,
    )


def _function(row: Row) -> SchemaObject:
    schema, name, types, kind, arguments, result, language, volatility, body, comment = row[:10]
    signature = f"{name}({types})"
    details: tuple[tuple[str, Detail], ...] = (
        ("kind", _FUNCTION_KINDS.get(kind, kind)),
        ("function_name", name),
        ("arguments", arguments),
        ("result", result),
        ("language", language),
        ("volatility", _VOLATILITY.get(volatility, volatility)),
    )
    return SchemaObject(
        "function",
        signature,
        signature,
        body,
        schema=schema,
        comment=comment,
        details=details,
        error=BLOCKED if row[10] else None,
    )


def _sequence(row: Row) -> SchemaObject:
    (schema, name, data_type, start, increment, minimum, maximum, cache, cycle, comment) = row[:10]
    owner_schema, owner_table, owner_column, dependency = row[10:]
    owned_by = f"{owner_schema}.{owner_table}.{owner_column}" if owner_table is not None else None
    details: tuple[tuple[str, Detail], ...] = (
        ("data_type", data_type),
        ("start", int(start)),
        ("increment", int(increment)),
        ("minimum", int(minimum)),
        ("maximum", int(maximum)),
        ("cache", int(cache)),
        ("cycle", bool(cycle)),
        ("owned_by", owned_by),
        ("identity", dependency == "i"),
    )
    return SchemaObject(
        "sequence", name, name, None, schema=schema, comment=comment, details=details
    )


def _column(row: Row, pk: int) -> ColumnInfo:
    _, _, name, type_, not_null, expression, identity, generated, collation, comment = row
    if generated:  # PostgreSQL's generated columns are all stored
        return ColumnInfo(name, type_, not_null, None, pk, 3, None, expression, collation, comment)
    return ColumnInfo(
        name, type_, not_null, expression, pk, 0, _IDENTITY.get(identity), None, collation, comment
    )


def _relation(
    row: Row,
    columns: tuple[ColumnInfo, ...],
    fks: Sequence[ForeignKeyInfo],
    indexes: Sequence[IndexInfo],
    checks: Sequence[ConstraintInfo],
    inherits: tuple[tuple[str, str], ...] = (),
    policies: tuple[PolicyInfo, ...] = (),
) -> SchemaObject:
    _, schema, name, relkind, comment, parent_schema, parent, bound, key, view_sql = row[:10]
    persistence, owner, blocked, row_security, force_row_security, populated = row[10:]
    kind = _RELATION_KINDS[relkind]
    details: list[tuple[str, Detail]] = [("owner", owner)]
    if persistence == "u":
        details.append(("unlogged", True))
    # Each only when set, as `unlogged`: a table without them reads as it always did.
    if row_security:
        details.append(("row_security", True))
    if force_row_security:
        details.append(("force_row_security", True))
    if relkind == "m" and not populated:  # WITH NO DATA, never refreshed
        details.append(("populated", False))
    if key is not None:
        details.append(("partition_key", key))
    if parent is not None:
        details += [("partition_of", f"{parent_schema}.{parent}"), ("partition_bound", bound)]
    return SchemaObject(
        kind,
        name,
        name,
        view_sql,
        columns=columns,
        foreign_keys=tuple(fks),
        indexes=tuple(sorted(indexes, key=lambda i: i.name)),
        schema=schema,
        comment=comment,
        constraints=tuple(checks),
        details=tuple(details),
        error=BLOCKED if blocked else None,
        inherits=inherits,
        policies=policies,
    )


def _policy(row: Row) -> PolicyInfo:
    _, name, command, permissive, roles, using, with_check = row
    return PolicyInfo(
        name,
        _POLICY_COMMANDS.get(command, str(command)),
        bool(permissive),
        tuple(roles or ()),
        using,
        with_check,
    )


def _indexes(
    rows: Sequence[Row],
    names: dict[int, tuple[str, str]],
    attnames: dict[tuple[int, int], str],
    parents: dict[int, list[tuple[str, str]]] | None = None,
) -> dict[int, tuple[int, IndexInfo]]:
    """Index oid -> its table's oid and the index."""
    result: dict[int, tuple[int, IndexInfo]] = {}
    for row in rows:
        (oid, table_oid, schema, name, unique, primary, valid, definition, method, where) = row[:10]
        keys, expressions, contype, size = row[10], row[11], row[12], row[14]
        if table_oid not in names:
            continue
        columns = tuple(
            attnames.get((table_oid, attnum), f"#{attnum}")
            if attnum
            else (expressions[position] if expressions else "<expr>")
            for position, attnum in enumerate(keys or ())
        )
        origin = "pk" if primary else {"u": "u", "x": "x"}.get(contype or "", "c")
        attached = parents.get(oid) if parents else None
        result[oid] = (
            table_oid,
            IndexInfo(
                name,
                names[table_oid][1],
                bool(unique),
                origin,
                columns,
                where,
                schema=schema,
                valid=bool(valid),
                size=size,
                definition=definition,
                method=method,
                partition_of=attached[0] if attached else None,
            ),
        )
    return result


def _index_object(index: IndexInfo, comment: str | None, blocked: bool) -> SchemaObject:
    return SchemaObject(
        "index",
        index.name,
        index.table,
        index.definition,
        schema=index.schema,
        comment=comment,
        size=index.size,
        valid=index.valid,
        error=BLOCKED if blocked else None,
    )


def _trigger(row: Row, owner: tuple[str, str]) -> SchemaObject:
    _, name, definition, enabled, comment, blocked = row
    schema, table = owner
    details: tuple[tuple[str, Detail], ...] = (("enabled", _TRIGGER_ENABLED.get(enabled, enabled)),)
    return SchemaObject(
        "trigger",
        name,
        table,
        definition,
        schema=schema,
        comment=comment,
        details=details,
        error=BLOCKED if blocked else None,
    )


def _constraints(
    rows: Sequence[Row], names: dict[int, tuple[str, str]], attnames: dict[tuple[int, int], str]
) -> tuple[
    dict[int, list[ForeignKeyInfo]],
    dict[int, list[ConstraintInfo]],
    dict[int, tuple[ConstraintInfo, ...]],
]:
    """Foreign keys and other constraints by table oid; domain checks by type oid."""
    fks: dict[int, list[ForeignKeyInfo]] = defaultdict(list)
    checks: dict[int, list[ConstraintInfo]] = defaultdict(list)
    domains: dict[int, list[ConstraintInfo]] = defaultdict(list)
    for row in rows:
        table_oid, type_oid, name, contype, definition, ref_schema, ref_table = row[:7]
        keys, ref_keys, on_update, on_delete, ref_oid = row[7:]
        if contype == "f":
            if table_oid not in names or ref_table is None:
                continue
            schema, table = names[table_oid]
            fks[table_oid].append(
                ForeignKeyInfo(
                    table,
                    tuple(attnames.get((table_oid, k), f"#{k}") for k in keys or ()),
                    ref_table,
                    tuple(attnames.get((ref_oid, k)) for k in ref_keys or ()),
                    _FK_ACTIONS.get(on_update, str(on_update)),
                    _FK_ACTIONS.get(on_delete, str(on_delete)),
                    name=name,
                    schema=schema,
                    ref_schema=ref_schema,
                )
            )
            continue
        info = ConstraintInfo(name, _CONSTRAINT_KINDS.get(contype, str(contype)), definition)
        if type_oid:
            domains[type_oid].append(info)
        elif table_oid in names:
            checks[table_oid].append(info)
    return fks, checks, {oid: tuple(infos) for oid, infos in domains.items()}
