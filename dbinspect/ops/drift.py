"""Compares the schema the migrations build with the live one, object by object.

Both sides go through the same readers and the same JSON shape as `schema --format
json`, so what counts as a definition is what that command prints. Left out of the
comparison, because they differ between two faithful copies: sizes, owners (the scratch
database's objects belong to whoever runs `check`), index validity (reported on its
own) and whether a materialized view is populated (its data, refreshed at run time, not
its definition). A table's list of indexes and triggers is left out too: each of those is an object
compared in its own right, so one change is reported once.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from dbinspect.models import Schema
from dbinspect.ops.replay import UrlKind

Change = Literal["added", "missing", "changed"]

_IGNORED_KEYS = frozenset(
    {"size", "owner", "valid", "populated", "indexes", "triggers", "referenced_by"}
)
_SINGULAR = {
    "schemas": "schema",
    "extensions": "extension",
    "types": "type",
    "functions": "function",
    "sequences": "sequence",
    "tables": "table",
    "virtual_tables": "virtual table",
    "views": "view",
    "materialized_views": "materialized view",
    "indexes": "index",
    "triggers": "trigger",
}


class Difference(NamedTuple):
    """One object that differs between the migrations and the live database."""

    change: Change
    """`added` (in the database only), `missing` (from it) or `changed`."""
    kind: str
    name: str
    """Schema-qualified on PostgreSQL."""
    expected: dict[str, Any] | None
    """The definition the migrations give (None when added by hand)."""
    actual: dict[str, Any] | None
    """The definition in the live database (None when missing)."""

    def changed_keys(self) -> list[str]:
        """The fields of the definition that differ (for a `changed` object)."""
        expected, actual = self.expected or {}, self.actual or {}
        return [k for k in dict.fromkeys([*expected, *actual]) if expected.get(k) != actual.get(k)]


def _documents(schema: Schema, kind: UrlKind) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object's comparable definition, by (kind, qualified name)."""
    if kind == "postgres":
        from dbinspect.ops.schema_dump_postgres import postgres_schema_to_json

        groups = postgres_schema_to_json(schema)
    else:
        from dbinspect.ops.schema_dump import schema_to_json

        groups = schema_to_json(schema)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for group, entries in groups.items():
        for entry in entries:
            name = str(entry["name"])
            if entry.get("schema") is not None:
                name = f"{entry['schema']}.{name}"
            if group == "triggers" and kind == "postgres":  # trigger names are per table
                name = f"{name} on {entry.get('table')}"
            definition = {k: v for k, v in entry.items() if k not in _IGNORED_KEYS}
            found[(_SINGULAR.get(group, group), name)] = definition
    return found


def _sql_tokens(sql: object) -> object:
    """SQLite's text of a definition as tokens: quoting, spacing and comments left out."""
    from dbinspect.errors import MigrationError
    from dbinspect.migrate.recreate import tokenize

    if not isinstance(sql, str):
        return sql
    try:
        return [t.name if t.kind in ("word", "ident") else t.text for t in tokenize(sql)]
    except MigrationError:
        return sql


def _same_sqlite(before: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Whether two definitions differ only in how their SQL text is spelled.

    SQLite's `ALTER TABLE ... RENAME` writes the names it changes quoted: a table that
    `migrate recreate` put back reads `CREATE TABLE "t" (...)` where the migration wrote
    `CREATE TABLE t (...)`. The same definition, not drift.
    """
    if before is None or now is None or before.keys() != now.keys():
        return False
    return all(
        (_sql_tokens(before[k]) == _sql_tokens(now[k])) if k == "sql" else before[k] == now[k]
        for k in before
    )


def compare_schemas(expected: Schema, actual: Schema, kind: UrlKind) -> list[Difference]:
    """The objects that differ, sorted by kind and name.

    Args:
        expected: The schema the migrations build (see `replay_migrations`).
        actual: The live database's schema.
        kind: Which database both come from.
    """
    want, have = _documents(expected, kind), _documents(actual, kind)
    differences = []
    for key in sorted(want.keys() | have.keys()):
        before, now = want.get(key), have.get(key)
        if before == now or (kind == "sqlite" and _same_sqlite(before, now)):
            continue
        change: Change = "added" if before is None else "missing" if now is None else "changed"
        differences.append(Difference(change, key[0], key[1], before, now))
    return differences
