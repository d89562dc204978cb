"""Reads what the Connection pane and `info` say about a PostgreSQL server and database."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dbinspect import pg_driver
from dbinspect.models import MigrationFact, ServerFacts

# One round trip. `default_transaction_read_only` as this session sees it is dbinspect's
# own (it always reads read-only): the setting the server keeps for this database or user
# outside dbinspect is in pg_db_role_setting. The search path and the schemas it finds
# are the database's (`pg_driver.SessionPath`, given as the parameter where the session
# pinned its own); sqlx's tracking table is the first table of that name on it, as sqlx
# finds it (a view or anything else of that name is not read: that would run its code).
FACTS = """
SELECT current_setting('server_version'), current_setting('server_version_num')::int,
       current_user, current_database(), current_setting('search_path'),
       current_schemas(false)::text[], current_setting('server_encoding'),
       current_setting('TimeZone'), pg_is_in_recovery(),
       pg_database_size(current_database()),
       coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false),
       (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl),
       ARRAY(SELECT cfg FROM pg_db_role_setting s, unnest(s.setconfig) cfg
             WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database
                                         WHERE datname = current_database()))
               AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user))
               AND cfg ILIKE 'default\\_transaction\\_read\\_only=%%'),
       (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
               coalesce(%(schemas)s::text[], current_schemas(false)::text[]) AS path
        WHERE c.relname = '_sqlx_migrations' AND n.nspname::text = ANY (path)
        ORDER BY array_position(path, n.nspname::text) LIMIT 1),
       (SELECT c.relkind IN ('r', 'p')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             coalesce(%(schemas)s::text[], current_schemas(false)::text[]) AS path
        WHERE c.relname = '_sqlx_migrations' AND n.nspname::text = ANY (path)
        ORDER BY array_position(path, n.nspname::text) LIMIT 1)
"""

# sqlx's tracking table, found on the search path as sqlx finds it. `installed_on` as its
# output function writes it (`pg_driver.output_text`): a table of that name is the
# database's, and a cast of its own to text would run.
MIGRATIONS = """
SELECT t.version, t.description, {installed_on}, t.success,
       (SELECT count(*) FROM {table} WHERE success IS NOT false),
       (SELECT count(*) FROM {table} WHERE success = false)
FROM {table} t ORDER BY t.version DESC LIMIT 1
"""

_TRUE = ("on", "true", "yes", "1", "t", "y")


async def read_server_facts(conn: pg_driver.AsyncConnection) -> tuple[ServerFacts, int]:
    """The server's and session's facts, and the database's size in bytes."""
    path = pg_driver.session_path(conn)
    schemas = None if path is None else list(path.schemas)
    row = await (await conn.execute(FACTS, {"schemas": schemas})).fetchone()
    assert row is not None
    (version, version_num, user, database, search_path, searched, encoding, time_zone) = row[:8]
    in_recovery, size, ssl, ssl_version, read_only_settings, migrations_schema, a_table = row[8:]
    if path is not None:
        search_path, searched = path.setting, path.schemas
    info = conn.info
    facts = ServerFacts(
        server_version=version,
        server_version_num=version_num,
        host=info.host,
        port=int(info.port),
        database=database,
        user=user,
        ssl=bool(ssl),
        ssl_version=ssl_version,
        search_path=search_path,
        schemas_searched=tuple(searched or ()),
        encoding=encoding,
        time_zone=time_zone,
        in_recovery=bool(in_recovery),
        read_only_default=_read_only_set(read_only_settings or ()),
    )
    if migrations_schema is not None and not a_table:
        facts = replace(facts, migrations_unreadable="it is not a table")
    elif migrations_schema is not None:
        latest, unreadable = await _latest_migration(conn, migrations_schema)
        facts = replace(facts, latest_migration=latest, migrations_unreadable=unreadable)
    return facts, int(size)


def _read_only_set(settings: Any) -> bool:
    """Whether any `default_transaction_read_only=...` entry turns it on.

    The most specific entry wins in PostgreSQL (database and role, then role, then
    database); any entry that says on is reported, since the user may connect either way.
    """
    return any(str(entry).split("=", 1)[1].strip().lower() in _TRUE for entry in settings)


async def _latest_migration(
    conn: pg_driver.AsyncConnection, schema: str
) -> tuple[MigrationFact | None, str | None]:
    """The latest row of `_sqlx_migrations` (None when empty), or why it cannot be read."""
    table = pg_driver.sql.Identifier(schema, "_sqlx_migrations")
    installed_on = pg_driver.output_text(pg_driver.sql.SQL("t.installed_on"))
    query = pg_driver.sql.SQL(MIGRATIONS).format(table=table, installed_on=installed_on)
    try:
        row = await (await conn.execute(query)).fetchone()
    except pg_driver.DatabaseError as error:
        if pg_driver.server_lost(error):
            raise
        # Not sqlx's table after all (other columns), no right to read it, or locked by
        # another session: the rest of the facts stand without it.
        primary = error.diag.message_primary or str(error).strip().splitlines()[0]
        return None, primary
    if row is None:
        return None, None
    version, description, installed_on, success, applied, failed = row
    if type(version) is not int:  # a table of the same name that is not sqlx's
        return None, f"version {version!r} is not an integer"
    fact = MigrationFact(
        version=version,
        description="" if description is None else str(description),
        installed_on="" if installed_on is None else str(installed_on),
        success=success is not False,  # sqlx's failure is `success = false`, not NULL
        applied=int(applied),
        failed=int(failed),
    )
    return fact, None
