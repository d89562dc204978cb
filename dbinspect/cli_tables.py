"""Finds the table or view a command's TABLE argument names, reading it as SQL reads a name.

Quoted parts are exact (`"secret"."s"`, `"a.b"`), unquoted ones follow the database's
rules for identifiers, `schema.table` is a table in that schema and a bare name is found
as a statement would find it (PostgreSQL: through the search_path). Only when that finds
nothing is the whole text taken as one exact name, so that a table called `secret.s` (or
`Users`) is still found by its name as the catalog spells it: never in place of table
`s` of schema `secret`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbinspect.browse.protocol import Relation

if TYPE_CHECKING:
    from dbinspect.backends import Backend
    from dbinspect.backends.postgres import PostgresBackend
    from dbinspect.models import Schema, SchemaObject

__all__ = ["resolve_relation", "sql_name_parts", "sqlite_relation"]

RELATION_KINDS = frozenset(
    {"table", "view", "materialized view", "foreign table", "partitioned table", "virtual table"}
)

# The server reads the name itself: `parse_ident` splits it as SQL does (quotes, case
# folding) and refuses what is not a name. A bare name is looked up on the database's
# search path (the session's own is pinned to the catalog: `pg_driver.SessionPath`), as
# `to_regclass` would; `schema.table` in that schema.
_POSTGRES_RELATION = """
SELECT n.nspname::text, c.relname::text
FROM pg_catalog.parse_ident(%(name)s) AS parts,
     coalesce(%(schemas)s::text[], pg_catalog.current_schemas(false)::text[]) AS path,
     pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relname::text = parts[pg_catalog.array_length(parts, 1)]
  AND CASE pg_catalog.array_length(parts, 1)
      WHEN 1 THEN n.nspname::text = ANY (path)
      WHEN 2 THEN n.nspname::text = parts[1]
      WHEN 3 THEN n.nspname::text = parts[2] AND parts[1] = pg_catalog.current_database()::text
      ELSE false END
ORDER BY pg_catalog.array_position(path, n.nspname::text) NULLS LAST
LIMIT 1
"""


async def resolve_relation(backend: Backend, text: str) -> Relation:
    """The relation `text` names; `Relation(None, text)` when none, for the caller's
    "no such table or view" error.

    Raises:
        QueryError: The catalog cannot be read.
    """
    from dbinspect.backends.postgres import PostgresBackend

    if isinstance(backend, PostgresBackend):
        found = await _postgres_relation(backend, text)
        if found is None:
            found = await _postgres_relation(backend, _quoted(text))
        return found or Relation(None, text)
    found_object = sqlite_relation(await backend.schema(), text)
    return Relation(None, text if found_object is None else found_object.name)


async def _postgres_relation(backend: PostgresBackend, name: str) -> Relation | None:
    from dbinspect import pg_driver as driver

    path = driver.session_path(backend.conn)
    schemas = None if path is None else list(path.schemas)
    parameters = {"name": name, "schemas": schemas}
    try:
        cur = await driver.cancel_once(backend.conn.execute(_POSTGRES_RELATION, parameters))
        row = await cur.fetchone()
    except driver.Error as error:
        if driver.server_lost(error):
            raise driver.catalog_error(backend.url, error) from error
        return None  # not a name SQL can read (`a"b`, four parts): the exact name is tried
    return None if row is None else Relation(str(row[0]), str(row[1]))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_relation(schema: Schema, text: str) -> SchemaObject | None:
    """The table or view of a SQLite database that `text` names (`t`, `main.t`, `"a.b"`,
    `[a.b]`); SQLite matches names ignoring ASCII case."""
    parts = sql_name_parts(text, quotes='"`[')
    if parts is not None and len(parts) == 2 and parts[0].lower() == "main":
        parts = parts[1:]
    if parts is not None and len(parts) == 1:
        found = _sqlite_named(schema, parts[0])
        if found is not None:
            return found
    return _sqlite_named(schema, text)


def _sqlite_named(schema: Schema, name: str) -> SchemaObject | None:
    exact = schema.get(name)
    if exact is not None and exact.kind in RELATION_KINDS:
        return exact
    folded = _ascii_lower(name)
    return next(
        (
            obj
            for obj in schema.objects
            if obj.kind in RELATION_KINDS and not obj.internal and _ascii_lower(obj.name) == folded
        ),
        None,
    )


def _ascii_lower(name: str) -> str:
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CLOSING = {'"': '"', "`": "`", "[": "]"}


def sql_name_parts(text: str, quotes: str = '"') -> list[str] | None:
    """The dot-separated parts of a name as SQL reads it, or None if it is not one.

    A part in quotes (any of `quotes`: `"`, and SQLite's `` ` `` and `[...]`) is exact, a
    doubled closing quote standing for one; an unquoted part is kept as written (the
    caller folds case as its database does). Spaces around a part are allowed.
    """
    parts: list[str] = []
    at, size = 0, len(text)
    while True:
        while at < size and text[at].isspace():
            at += 1
        if at < size and text[at] in quotes:
            close = _CLOSING[text[at]]
            at += 1
            part: list[str] = []
            while True:
                end = text.find(close, at)
                if end < 0:
                    return None
                part.append(text[at:end])
                at = end + 1
                if close != "]" and text.startswith(close, at):
                    part.append(close)  # a doubled quote
                    at += 1
                    continue
                break
            parts.append("".join(part))
        else:
            start = at
            while at < size and text[at] != "." and not text[at].isspace():
                if text[at] in quotes:
                    return None
                at += 1
            if at == start:
                return None
            parts.append(text[start:at])
        while at < size and text[at].isspace():
            at += 1
        if at == size:
            return parts
        if text[at] != ".":
            return None
        at += 1
