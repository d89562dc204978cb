"""Provides `reset` on PostgreSQL: what the migrations built is dropped, then built again.

"Every object" on PostgreSQL is decided by the migrations themselves: they are replayed
into a scratch database (`ops.replay`, dropped afterwards) and what they create there
is what goes from the live database:

- each schema they create, with everything in it (`DROP SCHEMA ... CASCADE`);
- every object in `public`, when they create objects there (`public` itself stays,
  with its owner and grants);
- each extension they create;
- the tracking table.

Other schemas, and `public` when the migrations create nothing in it, are left as they
are; so are roles, grants on the database and other databases. The CASCADE also takes
objects elsewhere that depend on what is dropped (a hand-made view on a migrated table).
The drops run in one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbinspect import event_loop, pg_driver
from dbinspect.config import Settings
from dbinspect.errors import ConfigError, MigrationFailedError, OperationError
from dbinspect.url import DatabaseUrl

sql = pg_driver.sql

_PUBLIC_OBJECTS = r"""
SELECT kind, name FROM (
    SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                          WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                          ELSE 'TABLE' END AS kind,
           c.relname AS name, c.oid AS oid, 'pg_class'::regclass AS catalog
    FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND NOT c.relispartition
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                      AND d.deptype IN ('a', 'i'))  -- serial and identity: with their table
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                          ELSE 'FUNCTION' END,
           p.oid::regprocedure::text, p.oid, 'pg_proc'::regclass
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.typname, t.oid,
           'pg_type'::regclass
    FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
      AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
) AS objects
WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = objects.catalog
                  AND d.objid = objects.oid AND d.deptype = 'e')
ORDER BY kind, name
"""


def reset_postgres(url: DatabaseUrl, settings: Settings, folder: Path) -> tuple[Path, list[str]]:
    """Back up the database, then drop what the migrations of `folder` create; return the
    backup's path and `kind name` of each object dropped. The caller applies them again.

    Raises:
        OperationError: The replay, the backup or a drop failed (nothing was dropped).
        MigrationFailedError: A migration fails on an empty database.
    """
    from dbinspect.migrate.pg_dialect import checked_table_name
    from dbinspect.ops.backup import run_backup
    from dbinspect.ops.replay import replay_migrations

    table = checked_table_name(settings.sqlx.table_name)
    try:
        replay = event_loop.run(replay_migrations("postgres", folder, settings.sqlx, server=url))
    except MigrationFailedError as error:
        # It failed in the scratch database: the live one was not backed up nor touched.
        failed = error.message.split("; rolled back")[0]
        raise OperationError(
            f"{failed}: the migrations fail on an empty database (replayed in a scratch "
            f"one), so nothing was reset and {pg_driver.database_name(url)} is unchanged",
            error.hint,
        ) from None
    created = sorted({o.name for o in replay.schema.objects if o.kind == "schema"} - {"public"})
    in_public = any(
        o.schema == "public" and o.kind not in ("schema", "extension")
        for o in replay.schema.objects
    )
    extensions = sorted(
        {o.name for o in replay.schema.objects if o.kind == "extension"} - {"plpgsql"}
    )
    backup = run_backup(url, _backup_format(url), None).path
    dropped = _drop(url, created, in_public, extensions, table)
    return backup, dropped


def _backup_format(url: DatabaseUrl) -> Any:
    """pg_dump's custom archive where a pg_dump able to dump the server is installed (it
    keeps owners, grants and sequence positions); json, through the driver, otherwise."""
    from dbinspect.ops.pg_dump import checked_pg_dump

    try:
        checked_pg_dump(url)
    except ConfigError:
        return "json"
    return "custom"


def _drop(
    url: DatabaseUrl, schemas: list[str], in_public: bool, extensions: list[str], table: str
) -> list[str]:
    conn = pg_driver.connect(url, autocommit=False)
    dropped: list[str] = []
    try:
        for name in extensions:
            found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", (name,))
            if found.fetchone():
                conn.execute(sql.SQL("DROP EXTENSION {} CASCADE").format(sql.Identifier(name)))
                dropped.append(f"extension {name}")
        for name in schemas:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,))
            if found.fetchone():
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
                dropped.append(f"schema {name}")
        if in_public:
            dropped += _drop_public_objects(conn)
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.SQL(table)))
            dropped.append(f"table {table}")
        conn.commit()
    except pg_driver.Error as error:
        conn.rollback()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise OperationError(
            f"cannot drop the objects of {url.masked}: {reason} (nothing was dropped)"
        ) from None
    finally:
        conn.close()
    return dropped


def _drop_public_objects(conn: pg_driver.Connection[tuple[Any, ...]]) -> list[str]:
    """Drop every object of `public` (not the schema); one may take others with it."""
    dropped = []
    for kind, name in conn.execute(_PUBLIC_OBJECTS.encode()).fetchall():
        target = (
            sql.SQL(name)  # a function's `public.f(integer)`, as regprocedure writes it
            if kind in ("FUNCTION", "PROCEDURE", "AGGREGATE")
            else sql.Identifier("public", name)
        )
        conn.execute(sql.SQL("DROP {} IF EXISTS {} CASCADE").format(sql.SQL(kind), target))
        dropped.append(f"{kind.lower()} {name}")
    return dropped
