"""Provides `schema`: a deterministic dump of every object, as SQL or as JSON."""

from __future__ import annotations

from typing import Any

from dbinspect.models import ColumnInfo, ForeignKeyInfo, IndexInfo, Schema, SchemaObject

# Order in which a dump can be replayed: tables before what depends on them.
DUMP_ORDER = ("table", "virtual table", "view", "index", "trigger")


def _dump_objects(schema: Schema) -> list[SchemaObject]:
    """User objects with SQL, in replay order, each kind sorted by name."""
    user = [o for o in schema.objects if not o.internal and o.sql]
    return sorted(user, key=lambda o: (DUMP_ORDER.index(o.kind), o.name))


def schema_to_sql(schema: Schema) -> str:
    """Every object's exact CREATE statement, one per paragraph, like `sqlite3 .schema`."""
    statements = []
    for obj in _dump_objects(schema):
        sql = (obj.sql or "").rstrip()
        statements.append(sql if sql.endswith(";") else sql + ";")
    return "\n\n".join(statements) + ("\n" if statements else "")


def _column(column: ColumnInfo) -> dict[str, Any]:
    return {
        "name": column.name,
        "type": column.type,
        "not_null": column.not_null,
        "default": column.default,
        "primary_key": column.pk,
        "hidden": column.hidden,
        "generated": column.generated,
    }


def _foreign_key(fk: ForeignKeyInfo) -> dict[str, Any]:
    return {
        "columns": list(fk.columns),
        "references": fk.ref_table,
        "ref_columns": list(fk.ref_columns),
        "on_update": fk.on_update,
        "on_delete": fk.on_delete,
    }


def _index(index: IndexInfo) -> dict[str, Any]:
    return {
        "name": index.name,
        "table": index.table,
        "unique": index.unique,
        "origin": index.origin,
        "columns": list(index.columns),
        "where": index.where,
    }


def schema_to_json(schema: Schema) -> dict[str, Any]:
    """The structure of every object, grouped by kind and sorted by name."""
    result: dict[str, list[dict[str, Any]]] = {
        "tables": [],
        "virtual_tables": [],
        "views": [],
        "indexes": [],
        "triggers": [],
    }
    for obj in _dump_objects(schema):
        entry: dict[str, Any] = {"name": obj.name, "sql": obj.sql}
        if obj.kind in ("table", "virtual table"):
            entry |= {
                "without_rowid": obj.without_rowid,
                "strict": obj.strict,
                "columns": [_column(c) for c in obj.columns],
                "foreign_keys": [_foreign_key(fk) for fk in obj.foreign_keys],
                "indexes": [_index(ix) for ix in sorted(obj.indexes, key=lambda i: i.name)],
                "triggers": sorted(t.name for t in schema.belonging_to(obj.name, "trigger")),
            }
            result["tables" if obj.kind == "table" else "virtual_tables"].append(entry)
        elif obj.kind == "view":
            entry["columns"] = [_column(c) for c in obj.columns]
            result["views"].append(entry)
        elif obj.kind == "index":
            owner = schema.get(obj.table)
            found = [ix for ix in (owner.indexes if owner else ()) if ix.name == obj.name]
            entry |= _index(found[0]) if found else {"table": obj.table}
            result["indexes"].append(entry)
        else:
            entry["table"] = obj.table
            result["triggers"].append(entry)
    return result
