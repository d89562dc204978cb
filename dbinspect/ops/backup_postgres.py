"""Provides `backup` on PostgreSQL: pg_dump's plain (`sql`) or custom (`custom`) format,
or `json` through the driver alone (where no pg_dump, or no recent enough one, exists).

The JSON backup holds the structure `schema --format json` writes and every table's rows,
each value in PostgreSQL's own text form (what `COPY` writes, which the type's input
function reads back exactly), NULL as null, read in one REPEATABLE READ snapshot through
a server-side cursor: memory stays flat however large the tables. Each table's own rows
only (`ONLY`): a child table's rows are its own, not its parents'. A database holding
what a JSON restore cannot rebuild (aggregates, foreign tables) is refused before any
file is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbinspect import event_loop, pg_driver
from dbinspect.errors import OperationError
from dbinspect.export.batch import json_lines
from dbinspect.export.encode import json_bytes, json_keys
from dbinspect.export.exporter import replacing_file
from dbinspect.ops.backup import BackupFormat, BackupResult, Progress
from dbinspect.ops.backup_files import JSON_FORMAT, JSON_VERSION
from dbinspect.ops.restore_pg_refusals import OTHER_FORMATS, unrestorable
from dbinspect.url import DatabaseUrl

BATCH_ROWS = 1000

_TABLES = """
SELECT n.nspname, c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY n.nspname, c.relname
"""
# With whether the column's type (its base, its elements) is the database's own: such a
# value is read through its output function, not `::text` (`pg_driver.output_text`).
_COLUMNS = """
SELECT a.attname, greatest(b.oid, coalesce(e.oid, 0)) >= %s
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum
"""


def backup_postgres(
    url: DatabaseUrl, fmt: BackupFormat, target: Path, on_progress: Progress | None = None
) -> BackupResult:
    """Back up the PostgreSQL database `url` to `target` in `fmt` (sql, custom or json).

    Raises:
        ConfigError: pg_dump is missing or older than the server (the line points to json).
        OperationError: pg_dump or the read failed.
        ExportError: The file cannot be written.
    """
    if fmt == "json":
        structure = _structure(url)
        refused = unrestorable(structure)
        if refused is not None:
            raise OperationError(f"cannot back up {url.masked} as json: {refused}", OTHER_FORMATS)
        count = 0
        with replacing_file(target) as (out, _):
            count = _write_json(url, structure, out.write, on_progress)
        return BackupResult(target, target.stat().st_size, f"{count:,} rows")
    from dbinspect.ops.pg_dump import run_pg_dump

    options = ["--format=plain"] if fmt == "sql" else ["--format=custom"]
    with replacing_file(target) as (out, _):
        run_pg_dump(url, options, out)
    return BackupResult(target, target.stat().st_size, f"pg_dump --format={options[0][9:]}")


def _structure(url: DatabaseUrl) -> dict[str, Any]:
    from dbinspect.backends import open_backend
    from dbinspect.ops.schema_dump_postgres import postgres_schema_to_json

    async def read() -> dict[str, Any]:
        backend = await open_backend(url)
        try:
            return postgres_schema_to_json(await backend.schema())
        finally:
            await backend.aclose()

    return event_loop.run(read())


def _write_json(
    url: DatabaseUrl,
    structure: dict[str, Any],
    write: Callable[[bytes], object],
    progress: Progress | None,
) -> int:
    head = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "backend": "postgres",
        "schema": structure,
    }
    write(json_bytes(json.dumps(head)[:-1] + ', "tables": [\n'))
    count = written = 0
    conn = pg_driver.connect(url, autocommit=False, path="guarded")
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tables = conn.execute(_TABLES).fetchall()
        for number, (schema, name, oid) in enumerate(tables):
            found = conn.execute(_COLUMNS, (pg_driver.FIRST_USER_OID, oid)).fetchall()
            columns = [str(row[0]) for row in found]
            own = [bool(row[1]) for row in found]
            about = {"schema": schema, "name": name, "columns": columns}
            write(json_bytes(("," if number else "") + json.dumps(about)[:-1] + ', "rows": [\n'))
            # ONLY: a parent's rows without its children's, which are backed up as theirs.
            select = pg_driver.sql.SQL("SELECT {} FROM ONLY {}").format(
                pg_driver.sql.SQL(", ").join(
                    pg_driver.text_of(pg_driver.sql.Identifier(c), own_type=mine)
                    for c, mine in zip(columns, own, strict=True)
                ),
                pg_driver.sql.Identifier(schema, name),
            )
            keys = json_keys(columns)
            first = True
            with conn.cursor(name=f"dbinspect_backup_{number}") as cursor:
                cursor.execute(select)
                while rows := cursor.fetchmany(BATCH_ROWS):
                    lines = json_lines(keys, rows).rstrip("\n").replace("\n", ",\n")
                    data = json_bytes(("" if first else ",\n") + lines)
                    write(data)
                    first = False
                    count += len(rows)
                    written += len(data)
                    if progress is not None:
                        progress(written, None)
            write(b"]}\n" if first else b"\n]}\n")
        write(b"]}\n")
        conn.rollback()
    except pg_driver.Error as error:
        raise OperationError(f"cannot read {url.masked}: {error}") from None
    finally:
        conn.close()
    return count
