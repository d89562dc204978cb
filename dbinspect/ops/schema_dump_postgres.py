"""Provides `schema --format json` on PostgreSQL: every object's structure, deterministic.

Objects are grouped by kind and sorted by schema, then name. Each carries its schema;
tables list their columns, constraints, foreign keys both ways, indexes, triggers, the
tables they inherit from and their row-level security policies.
(`--format sql` on PostgreSQL is pg_dump's: see `ops.pg_dump`.)
"""

from __future__ import annotations

from typing import Any

from dbinspect.models import (
    ColumnInfo,
    ConstraintInfo,
    Detail,
    ForeignKeyInfo,
    IndexInfo,
    PolicyInfo,
    Schema,
    SchemaObject,
)

# JSON group of each kind, in the order the document lists them.
GROUPS = {
    "schema": "schemas",
    "extension": "extensions",
    "type": "types",
    "function": "functions",
    "sequence": "sequences",
    "table": "tables",
    "partitioned table": "tables",
    "foreign table": "tables",
    "view": "views",
    "materialized view": "materialized_views",
    "index": "indexes",
    "trigger": "triggers",
}


def postgres_schema_to_json(schema: Schema) -> dict[str, Any]:
    """The structure of every object, grouped by kind, sorted by schema and name."""
    result: dict[str, list[dict[str, Any]]] = {
        group: [] for group in dict.fromkeys(GROUPS.values())
    }
    # Keys pointing at each table, gathered once: asking the schema per table would go
    # through every key of the database for each of its tables.
    referencing: dict[tuple[str | None, str], list[ForeignKeyInfo]] = {}
    for obj in schema.objects:
        for fk in obj.foreign_keys:
            referencing.setdefault((fk.ref_schema, fk.ref_table), []).append(fk)
    for obj in sorted(schema.objects, key=lambda o: (o.schema or "", o.name, o.table)):
        group = GROUPS.get(obj.kind)
        if group is not None:
            result[group].append(_object(schema, obj, referencing))
    return result


def _object(
    schema: Schema,
    obj: SchemaObject,
    referencing: dict[tuple[str | None, str], list[ForeignKeyInfo]],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": obj.name}
    if obj.kind not in ("schema", "extension"):
        entry = {"schema": obj.schema, **entry}
    if obj.kind in ("table", "partitioned table", "foreign table"):
        entry["kind"] = obj.kind
    entry |= _details(obj.details)
    if obj.kind in ("table", "partitioned table", "foreign table", "view", "materialized view"):
        entry |= _relation(schema, obj, referencing.get((obj.schema, obj.name), []))
    elif obj.kind == "index":
        owner = schema.get(obj.table, obj.schema) if obj.schema is not None else None
        found = [ix for ix in (owner.indexes if owner else ()) if ix.name == obj.name]
        entry |= _index(found[0]) if found else {"table": obj.table}
    elif obj.kind == "trigger":
        entry |= {"table": obj.table, "definition": obj.sql}
    elif obj.kind == "function":
        entry["definition"] = obj.sql
    elif obj.kind == "type" and obj.constraints:
        entry["constraints"] = [_constraint(c) for c in obj.constraints]
    entry["comment"] = obj.comment
    if obj.error is not None:  # only then: the document stays the same from run to run
        entry["error"] = obj.error
    return entry


def _details(details: tuple[tuple[str, Detail], ...]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in details}


def _relation(
    schema: Schema, obj: SchemaObject, referencing: list[ForeignKeyInfo]
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if obj.kind in ("view", "materialized view"):
        entry["sql"] = obj.sql
    entry["columns"] = [_column(c) for c in obj.columns]
    if obj.kind == "view":
        return entry
    referenced_by = sorted(referencing, key=lambda fk: (fk.schema or "", fk.table, fk.name or ""))
    triggers = sorted(t.name for t in schema.belonging_to(obj, "trigger"))
    return entry | {
        # In INHERITS order, which decides the child's column order: not sorted.
        "inherits": [{"schema": s, "table": t} for s, t in obj.inherits],
        "policies": [_policy(p) for p in sorted(obj.policies, key=lambda p: p.name)],
        "constraints": [_constraint(c) for c in sorted(obj.constraints, key=lambda c: c.name)],
        "foreign_keys": [
            _foreign_key(fk) for fk in sorted(obj.foreign_keys, key=lambda fk: fk.name or "")
        ],
        "referenced_by": [_referenced_by(fk) for fk in referenced_by],
        "indexes": [_index(ix) for ix in sorted(obj.indexes, key=lambda i: i.name)],
        "triggers": triggers,
    }


def _column(column: ColumnInfo) -> dict[str, Any]:
    return {
        "name": column.name,
        "type": column.type,
        "not_null": column.not_null,
        "default": column.default,
        "primary_key": column.pk,
        "identity": column.identity,
        "generated": column.generated,
        "expression": column.expression,
        "collation": column.collation,
        "comment": column.comment,
    }


def _constraint(constraint: ConstraintInfo) -> dict[str, Any]:
    return {"name": constraint.name, "kind": constraint.kind, "definition": constraint.definition}


def _policy(policy: PolicyInfo) -> dict[str, Any]:
    return {
        "name": policy.name,
        "command": policy.command,
        "permissive": policy.permissive,
        "roles": list(policy.roles),
        "using": policy.using,
        "with_check": policy.with_check,
    }


def _foreign_key(fk: ForeignKeyInfo) -> dict[str, Any]:
    return {
        "name": fk.name,
        "columns": list(fk.columns),
        "references": {"schema": fk.ref_schema, "table": fk.ref_table},
        "ref_columns": list(fk.ref_columns),
        "on_update": fk.on_update,
        "on_delete": fk.on_delete,
    }


def _referenced_by(fk: ForeignKeyInfo) -> dict[str, Any]:
    return {
        "name": fk.name,
        "schema": fk.schema,
        "table": fk.table,
        "columns": list(fk.columns),
        "ref_columns": list(fk.ref_columns),
    }


def _index(index: IndexInfo) -> dict[str, Any]:
    return {
        "name": index.name,
        "table": index.table,
        "unique": index.unique,
        "origin": index.origin,
        "columns": list(index.columns),
        "where": index.where,
        "method": index.method,
        "valid": index.valid,
        "size": index.size,
        "definition": index.definition,
        "partition_of": (
            None
            if index.partition_of is None
            else {"schema": index.partition_of[0], "name": index.partition_of[1]}
        ),
    }
